"""Live audits: conversations scored turn by turn while they happen, with alerts."""
