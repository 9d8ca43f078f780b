"""SMS providers: importing the package registers every built-in provider, one line each.

The order is the order ``[sms] provider`` lists them in (docs and error messages).
"""

# ruff: noqa: I001
from adapters.sms import log as log
from adapters.sms import aliyun as aliyun
from adapters.sms import tencent as tencent
from adapters.sms import generic as generic
