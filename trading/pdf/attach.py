"""Files embedded in an official PDF (附件), added before the platform seals it, so the seal covers them."""

import io

from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def pdf_attach(pdf: bytes, files: list[tuple[str, bytes, str, str]]) -> bytes:
    """Embed ``(name, data, mime type, description)`` files; the result is a new revision of ``pdf``."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for name, data, mime_type, description in files:
        embedded = EmbeddedFileObject.from_file_data(writer, data, mime_type=mime_type)
        embed_file(writer, FileSpec(name, file_name=name, embedded_data=embedded, description=description))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
