from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEARCH_MODE_UNSPECIFIED: _ClassVar[SearchMode]
    SEARCH_MODE_HYBRID: _ClassVar[SearchMode]
    SEARCH_MODE_BM25: _ClassVar[SearchMode]
    SEARCH_MODE_VECTOR: _ClassVar[SearchMode]
    SEARCH_MODE_IMAGE: _ClassVar[SearchMode]
SEARCH_MODE_UNSPECIFIED: SearchMode
SEARCH_MODE_HYBRID: SearchMode
SEARCH_MODE_BM25: SearchMode
SEARCH_MODE_VECTOR: SearchMode
SEARCH_MODE_IMAGE: SearchMode

class SearchFilters(_message.Message):
    __slots__ = ("content_types", "languages", "url_prefix")
    CONTENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    URL_PREFIX_FIELD_NUMBER: _ClassVar[int]
    content_types: _containers.RepeatedScalarFieldContainer[str]
    languages: _containers.RepeatedScalarFieldContainer[str]
    url_prefix: str
    def __init__(self, content_types: _Optional[_Iterable[str]] = ..., languages: _Optional[_Iterable[str]] = ..., url_prefix: _Optional[str] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("query", "image", "tenant_id", "kb_ids", "k", "mode", "filters")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    query: str
    image: bytes
    tenant_id: str
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    k: int
    mode: SearchMode
    filters: SearchFilters
    def __init__(self, query: _Optional[str] = ..., image: _Optional[bytes] = ..., tenant_id: _Optional[str] = ..., kb_ids: _Optional[_Iterable[str]] = ..., k: _Optional[int] = ..., mode: _Optional[_Union[SearchMode, str]] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ...) -> None: ...

class ImageRef(_message.Message):
    __slots__ = ("src", "alt", "caption")
    SRC_FIELD_NUMBER: _ClassVar[int]
    ALT_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    src: str
    alt: str
    caption: str
    def __init__(self, src: _Optional[str] = ..., alt: _Optional[str] = ..., caption: _Optional[str] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("chunk_id", "page_id", "score", "url", "title", "heading_path", "snippet", "text", "images", "kb_id")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    HEADING_PATH_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    KB_ID_FIELD_NUMBER: _ClassVar[int]
    chunk_id: str
    page_id: str
    score: float
    url: str
    title: str
    heading_path: _containers.RepeatedScalarFieldContainer[str]
    snippet: str
    text: str
    images: _containers.RepeatedCompositeFieldContainer[ImageRef]
    kb_id: str
    def __init__(self, chunk_id: _Optional[str] = ..., page_id: _Optional[str] = ..., score: _Optional[float] = ..., url: _Optional[str] = ..., title: _Optional[str] = ..., heading_path: _Optional[_Iterable[str]] = ..., snippet: _Optional[str] = ..., text: _Optional[str] = ..., images: _Optional[_Iterable[_Union[ImageRef, _Mapping]]] = ..., kb_id: _Optional[str] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "took_ms", "index_version")
    HITS_FIELD_NUMBER: _ClassVar[int]
    TOOK_MS_FIELD_NUMBER: _ClassVar[int]
    INDEX_VERSION_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    took_ms: float
    index_version: str
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., took_ms: _Optional[float] = ..., index_version: _Optional[str] = ...) -> None: ...

class KnowledgeBaseStatsRequest(_message.Message):
    __slots__ = ("kb_ids",)
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kb_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class KnowledgeBaseStat(_message.Message):
    __slots__ = ("kb_id", "pages", "chunks", "last_indexed_at_ms")
    KB_ID_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEXED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    kb_id: str
    pages: int
    chunks: int
    last_indexed_at_ms: int
    def __init__(self, kb_id: _Optional[str] = ..., pages: _Optional[int] = ..., chunks: _Optional[int] = ..., last_indexed_at_ms: _Optional[int] = ...) -> None: ...

class KnowledgeBaseStatsResponse(_message.Message):
    __slots__ = ("stats",)
    STATS_FIELD_NUMBER: _ClassVar[int]
    stats: _containers.RepeatedCompositeFieldContainer[KnowledgeBaseStat]
    def __init__(self, stats: _Optional[_Iterable[_Union[KnowledgeBaseStat, _Mapping]]] = ...) -> None: ...

class DeleteKnowledgeBaseRequest(_message.Message):
    __slots__ = ("kb_id",)
    KB_ID_FIELD_NUMBER: _ClassVar[int]
    kb_id: str
    def __init__(self, kb_id: _Optional[str] = ...) -> None: ...

class DeleteKnowledgeBaseResponse(_message.Message):
    __slots__ = ("deleted_chunks",)
    DELETED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    deleted_chunks: int
    def __init__(self, deleted_chunks: _Optional[int] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings",)
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ...) -> None: ...
