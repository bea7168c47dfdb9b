"""QR codes for printed sheets: an SVG (pure Python ``qrcode``, no imaging library) as a ``data:`` URI."""

from __future__ import annotations

import base64


def qr_data_uri(text: str) -> str:
    """``data:image/svg+xml;base64,…`` of a QR code (error correction M) encoding ``text``."""
    import qrcode
    import qrcode.image.svg

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                         image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(text)
    code.make(fit=True)
    svg = code.make_image().to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


__all__ = ["qr_data_uri"]
