"""Networks: `AZNet` and the functional wrapper `Model` used by search, self-play and training."""

from jaxzero.nn.heads import POLICY_HEADS, DensePolicyHead, ValueHead, dense_policy_head, register_policy_head
from jaxzero.nn.model import Model, inference_dtype, make_inference_model, make_model
from jaxzero.nn.resnet import AZNet, ResBlock

__all__ = [
    "AZNet",
    "DensePolicyHead",
    "Model",
    "POLICY_HEADS",
    "ResBlock",
    "ValueHead",
    "dense_policy_head",
    "inference_dtype",
    "make_inference_model",
    "make_model",
    "register_policy_head",
]
