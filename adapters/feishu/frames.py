"""The Feishu long-connection frame (``pbbp2.Frame``, protobuf 2), built without generated code.

The schema is the one the official SDKs ship (``lark_oapi/ws/pb/pbbp2_pb2.py``,
``oapi-sdk-go/ws/pbbp2.pb.go``); it is declared here in a private descriptor pool so it cannot
clash with the SDK if both are ever imported.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

METHOD_CONTROL = 0
METHOD_DATA = 1

_REQ = descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED
_OPT = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
_REP = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
_T = descriptor_pb2.FieldDescriptorProto


def _build() -> tuple[Any, Any]:
    fdp = descriptor_pb2.FileDescriptorProto(name="hotline_pbbp2.proto", package="pbbp2",
                                             syntax="proto2")
    header = fdp.message_type.add(name="Header")
    header.field.add(name="key", number=1, type=_T.TYPE_STRING, label=_REQ)
    header.field.add(name="value", number=2, type=_T.TYPE_STRING, label=_REQ)
    frame = fdp.message_type.add(name="Frame")
    for name, number, typ, label in (
        ("SeqID", 1, _T.TYPE_UINT64, _REQ),
        ("LogID", 2, _T.TYPE_UINT64, _REQ),
        ("service", 3, _T.TYPE_INT32, _REQ),
        ("method", 4, _T.TYPE_INT32, _REQ),
        ("headers", 5, _T.TYPE_MESSAGE, _REP),
        ("payload_encoding", 6, _T.TYPE_STRING, _OPT),
        ("payload_type", 7, _T.TYPE_STRING, _OPT),
        ("payload", 8, _T.TYPE_BYTES, _OPT),
        ("LogIDNew", 9, _T.TYPE_STRING, _OPT),
    ):
        field = frame.field.add(name=name, number=number, type=typ, label=label)
        if typ == _T.TYPE_MESSAGE:
            field.type_name = ".pbbp2.Header"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return (message_factory.GetMessageClass(pool.FindMessageTypeByName("pbbp2.Frame")),
            message_factory.GetMessageClass(pool.FindMessageTypeByName("pbbp2.Header")))


Frame, Header = _build()


def new_frame(*, method: int, service: int = 0, headers: dict[str, str] | None = None,
              payload: bytes = b"", seq_id: int = 0, log_id: int = 0) -> Any:
    """A frame with the given headers (in order) and payload."""
    frame = Frame(SeqID=seq_id, LogID=log_id, service=service, method=method)
    for key, value in (headers or {}).items():
        frame.headers.add(key=key, value=value)
    if payload:
        frame.payload = payload
    return frame


def parse_frame(data: bytes) -> Any:
    """Decode a binary WebSocket message; raises google.protobuf.message.DecodeError if malformed."""
    frame = Frame()
    frame.ParseFromString(data)
    return frame


def frame_headers(frame: Any) -> dict[str, str]:
    """The frame's headers as a dict (last value wins)."""
    return {h.key: h.value for h in frame.headers}
