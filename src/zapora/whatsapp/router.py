from fastapi import APIRouter

router = APIRouter()
inbox_router = APIRouter()
