"""What every provider's ``[sms.<provider>]`` section shares: the strict model base and the cloud keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.sms.templates import DEFAULT_VARIABLES

__all__ = ["CloudSection", "SectionModel", "default_variables"]


def default_variables() -> dict[str, list[str]]:
    """Message kind → its template variable names, a fresh copy of the defaults."""
    return {kind: list(names) for kind, names in DEFAULT_VARIABLES.items()}


class SectionModel(BaseModel):
    """A provider section: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudSection(SectionModel):
    """Keys shared by the cloud providers."""

    sign_name: str = Field("", description="短信签名（在服务商控制台审核通过的）")
    templates: dict[str, str] = Field(default_factory=dict, description="消息类别（answer 答复、receipt 受理、feedback 回访、delay 超期告知）→ 服务商的模板 ID")
    """Message kind (answer, receipt, feedback, delay) → the provider's template id."""
    variables: dict[str, list[str]] = Field(default_factory=default_variables, description="消息类别 → 模板变量名，按模板中的顺序")
    """Message kind → the template's variable names, in Tencent's positional order."""
    timeout: float = Field(default=10.0, gt=0, description="调用接口的超时（秒）")
    rate_per_second: int = Field(default=0, ge=0, description="本地限速：每秒最多请求数；0 为不限")
    """Local cap on requests per second; 0 = off."""
    extend_code: str = Field(default="", pattern=r"^\d{0,12}$", description="扩展码，随每条短信发送，来电人的回复会带上它；留空为不用")
    """Extension code (扩展码) sent with every message so replies carry it; "" = none."""
