"""Extraction: clean article text, display HTML and metadata from web pages and plain-text documents."""

from tidings.extract.article import extract_html
from tidings.extract.sanitize import sanitize_html
from tidings.extract.text import extract_text
from tidings.models import ExtractedArticle, RelatedLink

__all__ = ["ExtractedArticle", "RelatedLink", "extract_html", "extract_text", "sanitize_html"]
