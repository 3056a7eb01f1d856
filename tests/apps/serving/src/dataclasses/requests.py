from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Transaction(BaseModel):
    amount: float
    currency: Literal["EUR", "USD"]
    at: datetime


class Customer(BaseModel):
    id: int
    segment: str | None = None


class PredictRequest(BaseModel):
    customer: Customer
    transactions: list[Transaction]
    threshold: float = 0.5
    tags: dict[str, str] = Field(default_factory=dict)
    note: str | None = None
