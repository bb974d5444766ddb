from ragchat.v1 import principal_pb2 as _principal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConverseRequest(_message.Message):
    __slots__ = ("conversation_id", "principal", "kb_ids", "message")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    principal: _principal_pb2.Principal
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    message: str
    def __init__(self, conversation_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., kb_ids: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ...) -> None: ...

class Citation(_message.Message):
    __slots__ = ("number", "chunk_id", "url", "title", "snippet", "image_src")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SRC_FIELD_NUMBER: _ClassVar[int]
    number: int
    chunk_id: str
    url: str
    title: str
    snippet: str
    image_src: str
    def __init__(self, number: _Optional[int] = ..., chunk_id: _Optional[str] = ..., url: _Optional[str] = ..., title: _Optional[str] = ..., snippet: _Optional[str] = ..., image_src: _Optional[str] = ...) -> None: ...

class TurnSummary(_message.Message):
    __slots__ = ("conversation_id", "turn_id", "retrieval_ms", "first_token_ms", "total_ms", "prompt_tokens", "completion_tokens", "provider", "declined")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    turn_id: str
    retrieval_ms: float
    first_token_ms: float
    total_ms: float
    prompt_tokens: int
    completion_tokens: int
    provider: str
    declined: bool
    def __init__(self, conversation_id: _Optional[str] = ..., turn_id: _Optional[str] = ..., retrieval_ms: _Optional[float] = ..., first_token_ms: _Optional[float] = ..., total_ms: _Optional[float] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., provider: _Optional[str] = ..., declined: _Optional[bool] = ...) -> None: ...

class ConverseEvent(_message.Message):
    __slots__ = ("token", "citation", "summary")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CITATION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    token: str
    citation: Citation
    summary: TurnSummary
    def __init__(self, token: _Optional[str] = ..., citation: _Optional[_Union[Citation, _Mapping]] = ..., summary: _Optional[_Union[TurnSummary, _Mapping]] = ...) -> None: ...
