import base64
import io

from mlatlas.labs.extrude import relief
from mlatlas.labs.extrude.export import glb_bytes, write_stl
from mlatlas.labs.extrude.preview import image_png, img_tag, sample_image

image = sample_image(96)
model = relief(image, height=8.0, base=1.0, pixel_size=0.4, colors=True, max_error=0.08).mesh
glb = glb_bytes(model)
stl = io.BytesIO()
write_stl(model, stl)


def data_url(kind: str, data: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


print(
    f'<figure class="relief-viewer" style="width: 100%" markdown="0">'
    f'<model-viewer src="{data_url("model/gltf-binary", glb)}" alt="the island relief, in 3D" '
    f'loading="eager" camera-controls touch-action="pan-y" camera-orbit="-25deg 65deg auto" shadow-intensity="0.8" '
    f'environment-image="neutral" interaction-prompt="none" '
    f'style="width: 100%; height: 26rem; background: #f4f1ea;"></model-viewer>'
)
print(
    f"<figcaption>{img_tag(image_png(image, 1), 'the input image', width=64)} "
    f"Drag to turn, scroll to zoom. {len(model.faces):,} faces, within {model.max_error:.3f} of the full grid; "
    f'download <a download="island.glb" href="{data_url("model/gltf-binary", glb)}">island.glb</a> '
    f"({len(glb) / 1024:.0f} KiB, with colours) or "
    f'<a download="island.stl" href="{data_url("model/stl", stl.getvalue())}">island.stl</a> '
    f"({len(stl.getvalue()) / 1024:.0f} KiB).</figcaption></figure>"
)
