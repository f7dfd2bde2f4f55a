"""A test chat service, instrumented the way the real chat services are.

One program stands in for each of the three services, chosen by CHAT_SERVICE=auth|transport|messaging:
  - metrics only from FastAPIInstrumentor.instrument_app (no hand-made HTTP meters), plus on transport
    the UpDownCounter websocket_hub_active_connections, moved by a real WebSocket endpoint;
  - OTLP over gRPC, plaintext, to OPENTELEMETRY_COLLECTOR_URL (required, set in code, so the
    OTEL_EXPORTER_OTLP_* endpoint variables are ignored), every second, cumulative temporality;
  - the resource as the real services build it: transport sets service.name from SERVICE_NAME, auth and
    messaging set the misspelt key service_name, so their service.name is unknown_service;
  - OTEL_SEMCONV_STABILITY_OPT_IN=http switches the instrumentation to the stable HTTP conventions.

Routes are listed in routes.json. Each answers with the status and after the delay the caller asks for
(`?status=503&delay_ms=120`), so a test can plan exactly which histogram bucket and status every
request lands in. Run with: uvicorn app:app --app-dir test/chat-service --host 127.0.0.1 --port PORT
"""
import asyncio
import json
import os
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from opentelemetry import metrics
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from starlette.exceptions import HTTPException as StarletteHTTPException

KIND = os.environ["CHAT_SERVICE"]
ROUTES = json.loads((Path(__file__).parent / "routes.json").read_text())
if KIND not in ("auth", "transport", "messaging"):
    raise SystemExit(f"CHAT_SERVICE must be auth, transport or messaging, not {KIND!r}")

# The misspelt key of auth and messaging: service.name stays unknown_service.
MISSPELT_SERVICE_NAME = {"auth": "chat_authentication", "messaging": "chat_messaging"}


def resource() -> Resource:
    if KIND == "transport":
        return Resource.create({"service.name": os.getenv("SERVICE_NAME")})
    return Resource.create({"service_name": MISSPELT_SERVICE_NAME[KIND]})


exporter = OTLPMetricExporter(endpoint=os.environ["OPENTELEMETRY_COLLECTOR_URL"], insecure=True)
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=1000)
metrics.set_meter_provider(MeterProvider(resource=resource(), metric_readers=[reader]))

app = FastAPI()


async def planned(status: int = 200, delay_ms: int = 0) -> JSONResponse:
    """Any route: wait delay_ms, then answer status."""
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    return JSONResponse({"status": status}, status_code=status)


for route in ROUTES[KIND]:
    app.add_api_route(route["path"], planned, methods=[route["method"]])


@app.exception_handler(StarletteHTTPException)
async def not_found(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """A path no route matches: FastAPI's 404, after the delay asked for (so a test can place it in a bucket)."""
    delay_ms = int(request.query_params.get("delay_ms", "0"))
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

if KIND == "transport":
    active_connections = metrics.get_meter("chat.transportation.websocket_hub").create_up_down_counter(
        "websocket_hub_active_connections", description="WebSocket connections open on this hub process"
    )

    @app.websocket(ROUTES["websocket"]["transport"])
    async def messages(websocket: WebSocket) -> None:
        """Echoes text frames; the gauge counts the connections open on this process."""
        await websocket.accept()
        active_connections.add(1)
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            active_connections.add(-1)


FastAPIInstrumentor.instrument_app(app)
