from typing import Literal

from pydantic import BaseModel


class PredictResponse(BaseModel):
    score: float
    label: Literal["fraud", "ok"]
    reasons: list[str]
    model_version: str


class ModelCard(BaseModel):
    id: str
    features: list[str]
