"""Text normalisation, segmentation and tokenisation for English and Chinese (simplified and traditional)."""
