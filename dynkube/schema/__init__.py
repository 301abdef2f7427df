"""Schemas: the server's OpenAPI v3 documents, turned into JSON Schema to validate objects and to explain fields.

``SchemaStore`` fetches the ``/openapi/v3`` index once, then only the group-version documents it is asked
about, keeps them in memory and on disk keyed by the hash the index gives (a document never changes for a
hash). A kind's model is found through ``x-kubernetes-group-version-kind`` and converted once into a
self-contained Draft 2020-12 schema with the Kubernetes extensions translated; its compiled validator is
reused. Everything below the HTTP layer is pure: ``SchemaStore.from_documents`` and the module functions
work on documents alone. ``jsonschema`` is imported only when something is validated.

One concept a module, bottom to top: ``models`` (group-versions, documents, models), ``formats`` (the
string formats the server checks), ``convert`` (OpenAPI -> JSON Schema), ``validation`` (compiled
schemas, issues, secrets hidden), ``explain`` (and its kubectl-like text), ``crds`` (the documents a CRD
publishes), ``store`` (fetching and caching). The names below are the ones to use.
"""

from .convert import to_json_schema
from .crds import crd_documents
from .explain import Explanation, FieldInfo, explain_document
from .models import find_model, gv_path
from .store import INDEX_PATH, SchemaStore, openapi_disk_cache, parse_document, parse_index
from .validation import ValidationIssue

__all__ = [
    "INDEX_PATH",
    "Explanation",
    "FieldInfo",
    "SchemaStore",
    "ValidationIssue",
    "crd_documents",
    "explain_document",
    "find_model",
    "gv_path",
    "openapi_disk_cache",
    "parse_document",
    "parse_index",
    "to_json_schema",
]
