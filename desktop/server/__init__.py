"""Lantern's local OpenAI-compatible API over HTTP: Starlette on uvicorn, with sse-starlette
for streamed answers. It talks to the services only (services/serving.py does the work); an
import-linter contract keeps it off the engine, the store, the models and the tasks.

- `app.py` wires the routes and the security middleware into one ASGI app;
- `security.py` refuses what must be refused before any route runs: a body too large (413),
  a Host that is not this server's (403: DNS rebinding), an Origin not listed (no CORS),
  a request without the API key (401);
- `hosts.py` says which Host and Origin headers are this server's;
- `request_bodies.py` reads and checks request bodies (400 naming the field);
- `chat_routes.py`, `completion_routes.py`, `embedding_routes.py`, `model_routes.py`: the
  endpoints; `answer_shapes.py` the JSON they answer with, `streaming.py` the bridge from the
  engine's blocking stream to the event loop;
- `api_errors.py` turns Lantern's errors into OpenAI-shaped error answers;
- `request_logging.py` records each request in the service's request log;
- `runner.py` runs the server in a thread (`ServerHandle`), for the CLI and the window.
"""
