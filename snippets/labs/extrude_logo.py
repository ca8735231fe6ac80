"""Draw a 200 x 120 logo (white letters and a grey ring on black) into the PNG file given."""

import sys

from PIL import Image, ImageDraw, ImageFont

image = Image.new("L", (200, 120), 0)
draw = ImageDraw.Draw(image)
draw.ellipse((6, 6, 114, 114), outline=150, width=10)
draw.text((58, 62), "ML", fill=255, font=ImageFont.load_default(size=64), anchor="mm")
draw.rectangle((128, 20, 192, 100), fill=90)
draw.rectangle((144, 36, 176, 84), fill=0)  # a square hole in a grey block
image.save(sys.argv[1])
print(f"wrote {sys.argv[1]}: {image.width} x {image.height} pixels")
