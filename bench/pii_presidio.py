"""presidio-analyzer's pattern recognizers over texts, for ``bench.pii_redaction`` to compare with the auditor's own.

Runs in a separate virtual environment that has presidio-analyzer (it is not a project dependency)::

    python -m venv /tmp/presidio && /tmp/presidio/bin/pip install presidio-analyzer
    /tmp/presidio/bin/python bench/pii_presidio.py < texts.jsonl > spans.jsonl

Reads one JSON string a line and writes, for each, a JSON list of ``[start, end, entity, score]``. No spaCy model is
loaded (``NoOpNlpEngine``), so there is no PERSON or LOCATION recognizer, and no context words raise scores. The
recognizers are presidio's predefined pattern ones that cover the auditor's kinds, registered for English and
Chinese: credit card, e-mail, phone (python-phonenumbers, regions CN, US, GB, DE, FR, CA, IN), IBAN, US and UK
passport, US bank number. The e-mail recognizer's tldextract reads its bundled suffix list instead of fetching it.
Only the standard library and presidio are imported: this file must run outside the project's environment.
"""

from __future__ import annotations

import json
import sys


def build_analyzer():  # type: ignore[no-untyped-def]
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
        UkPassportRecognizer,
        UsBankRecognizer,
        UsPassportRecognizer,
    )
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    email_recognizer.tldextract = type("Offline", (), {"extract": staticmethod(offline)})  # type: ignore[attr-defined]
    languages = ["en", "zh"]
    registry = RecognizerRegistry(supported_languages=languages)
    for language in languages:
        registry.add_recognizer(CreditCardRecognizer(supported_language=language))
        registry.add_recognizer(EmailRecognizer(supported_language=language))
        registry.add_recognizer(
            PhoneRecognizer(supported_language=language, supported_regions=("CN", "US", "GB", "DE", "FR", "CA", "IN"))
        )
        registry.add_recognizer(IbanRecognizer(supported_language=language))
        registry.add_recognizer(UsPassportRecognizer(supported_language=language))
        registry.add_recognizer(UkPassportRecognizer(supported_language=language))
        registry.add_recognizer(UsBankRecognizer(supported_language=language))
    engine = NoOpNlpEngine(models=[{"lang_code": language, "model_name": "none"} for language in languages])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=languages)


def has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def main() -> None:
    analyzer = build_analyzer()
    for line in sys.stdin:
        text = json.loads(line)
        found = analyzer.analyze(text=text, language="zh" if has_han(text) else "en")
        spans = sorted([r.start, r.end, r.entity_type, round(r.score, 3)] for r in found)
        sys.stdout.write(json.dumps(spans) + "\n")


if __name__ == "__main__":
    main()
