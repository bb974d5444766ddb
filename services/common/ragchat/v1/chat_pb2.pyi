from ragchat.v1 import principal_pb2 as _principal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConverseRequest(_message.Message):
    __slots__ = ("conversation_id", "principal", "kb_ids", "message", "skip_cache")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SKIP_CACHE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    principal: _principal_pb2.Principal
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    message: str
    skip_cache: bool
    def __init__(self, conversation_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., kb_ids: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., skip_cache: _Optional[bool] = ...) -> None: ...

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

class ConversationSummary(_message.Message):
    __slots__ = ("id", "title", "kb_ids", "owner_subject", "created_at_ms", "updated_at_ms", "message_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    OWNER_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    owner_subject: str
    created_at_ms: int
    updated_at_ms: int
    message_count: int
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., kb_ids: _Optional[_Iterable[str]] = ..., owner_subject: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., message_count: _Optional[int] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "role", "content", "citations", "declined", "created_at_ms", "feedback", "feedback_comment", "stopped")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_COMMENT_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: str
    content: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    declined: bool
    created_at_ms: int
    feedback: str
    feedback_comment: str
    stopped: bool
    def __init__(self, id: _Optional[str] = ..., role: _Optional[str] = ..., content: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., declined: _Optional[bool] = ..., created_at_ms: _Optional[int] = ..., feedback: _Optional[str] = ..., feedback_comment: _Optional[str] = ..., stopped: _Optional[bool] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("summary", "messages")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    summary: ConversationSummary
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    def __init__(self, summary: _Optional[_Union[ConversationSummary, _Mapping]] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ...) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("principal", "kb_ids", "limit", "before_ms")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    before_ms: int
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., kb_ids: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ..., before_ms: _Optional[int] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations",)
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationSummary]
    def __init__(self, conversations: _Optional[_Iterable[_Union[ConversationSummary, _Mapping]]] = ...) -> None: ...

class GetConversationRequest(_message.Message):
    __slots__ = ("principal", "conversation_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    conversation_id: str
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class DeleteConversationRequest(_message.Message):
    __slots__ = ("principal", "conversation_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    conversation_id: str
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class DeleteConversationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecordFeedbackRequest(_message.Message):
    __slots__ = ("principal", "conversation_id", "message_id", "rating", "comment")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    conversation_id: str
    message_id: str
    rating: str
    comment: str
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., conversation_id: _Optional[str] = ..., message_id: _Optional[str] = ..., rating: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class RecordFeedbackResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
