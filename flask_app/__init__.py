"""The web UI and REST API: wiring, schemas, auth, templates — no business rules (they live in claims/ and products/)."""


def create_app(config=None):  # noqa: ANN001, ANN201 - imported lazily so the CLI starts fast
    from flask_app.app import create_app as _create

    return _create(config)
