from fastapi import APIRouter
from src.dataclasses.requests import PredictRequest
from src.dataclasses.responses import ModelCard, PredictResponse

router = APIRouter(prefix="/v1", tags=["predict"])


@router.post("/predict", response_model=PredictResponse)
def predict(request: PredictRequest) -> PredictResponse:
    return PredictResponse(score=0.1, label="ok", reasons=[], model_version="1.4.0")


@router.get("/models/{model_id}")
def model_card(model_id: str) -> ModelCard:
    return ModelCard(id=model_id, features=["amount"])
