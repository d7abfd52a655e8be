"""Reference throughput for the augment benchmark: the same augmentations done the way the published
PyTorch pipelines do them, one PIL image at a time (numpy array -> PIL -> operations -> numpy array), single
process, single thread. Prints one JSON line: images per second for each case.

usage: python3 reference.py <seconds per case>
"""
import json
import random
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
random.seed(0)
rng = np.random.default_rng(0)


def to_pil(a):
    return Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0))


def to_array(img):
    a = np.asarray(img)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def weak(a, flip):
    img = to_pil(a)
    if flip and random.random() < 0.5:
        img = ImageOps.mirror(img)
    p = int(0.125 * min(img.size))
    padded = ImageOps.expand(img, border=p, fill=0)
    dx, dy = random.randint(0, 2 * p), random.randint(0, 2 * p)
    img = padded.crop((dx, dy, dx + img.size[0], dy + img.size[1]))
    return to_array(img)


def signed(v):
    return v if random.random() < 0.5 else -v


# The 14 operations of RUC's Table 5 with the magnitude mapping of @dc/data (m in [0, 10]).
OPS = [
    lambda im, m: ImageOps.autocontrast(im),
    lambda im, m: ImageOps.equalize(im),
    lambda im, m: im,
    lambda im, m: ImageEnhance.Brightness(im).enhance(1 - 0.099 * m),
    lambda im, m: ImageEnhance.Color(im).enhance(1 - 0.099 * m),
    lambda im, m: ImageEnhance.Contrast(im).enhance(1 - 0.099 * m),
    lambda im, m: ImageOps.posterize(im, 8 - round(0.7 * m)),
    lambda im, m: im.rotate(signed(4.5 * m)),
    lambda im, m: ImageEnhance.Sharpness(im).enhance(1 - 0.099 * m),
    lambda im, m: im.transform(im.size, Image.AFFINE, (1, signed(0.03 * m), 0, 0, 1, 0)),
    lambda im, m: im.transform(im.size, Image.AFFINE, (1, 0, 0, signed(0.03 * m), 1, 0)),
    lambda im, m: ImageOps.solarize(im, 256 - round(25.6 * m)),
    lambda im, m: im.transform(im.size, Image.AFFINE, (1, 0, signed(0.03 * m) * im.size[0], 0, 1, 0)),
    lambda im, m: im.transform(im.size, Image.AFFINE, (1, 0, 0, 0, 1, signed(0.03 * m) * im.size[1])),
]


def strong(a, n, magnitude, uniform, cutout):
    img = to_pil(a)
    for op in random.choices(OPS, k=n):
        img = op(img, random.uniform(0, magnitude) if uniform else magnitude)
    if cutout > 0:
        side = round(cutout * min(img.size))
        cx, cy = random.randrange(img.size[0]), random.randrange(img.size[1])
        x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
        img = img.copy()
        ImageDraw.Draw(img).rectangle((x0, y0, cx - side // 2 + side - 1, cy - side // 2 + side - 1), fill=127 if img.mode == "L" else (127, 127, 127))
    return to_array(img)


def simclr(a):
    img = to_pil(a)
    w, h = img.size
    area = w * h
    box = (0, 0, w, h)
    for _ in range(10):
        target = area * random.uniform(0.08, 1.0)
        ratio = np.exp(random.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw, ch = round((target * ratio) ** 0.5), round((target / ratio) ** 0.5)
        if 0 < cw <= w and 0 < ch <= h:
            left, top = random.randint(0, w - cw), random.randint(0, h - ch)
            box = (left, top, left + cw, top + ch)
            break
    img = img.resize((w, h), Image.BILINEAR, box=box)
    if random.random() < 0.5:
        img = ImageOps.mirror(img)
    colour = img.mode == "RGB"
    if random.random() < 0.8:
        steps = [0, 1, 2, 3]
        random.shuffle(steps)
        for s in steps:
            if s == 0:
                img = ImageEnhance.Brightness(img).enhance(random.uniform(0.6, 1.4))
            elif s == 1:
                img = ImageEnhance.Contrast(img).enhance(random.uniform(0.6, 1.4))
            elif s == 2 and colour:
                img = ImageEnhance.Color(img).enhance(random.uniform(0.6, 1.4))
            elif s == 3 and colour:
                hsv = np.array(img.convert("HSV"))
                hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(random.uniform(-0.1, 0.1) * 255)) % 256
                img = Image.fromarray(hsv, "HSV").convert("RGB")
    if colour and random.random() < 0.2:
        img = img.convert("L").convert("RGB")
    return to_array(img)


def rate(fn, batch):
    for a in batch[:20]:
        fn(a)
    done = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < SECONDS:
        for a in batch:
            fn(a)
        done += len(batch)
    return done / (time.perf_counter() - t0)


grey = rng.integers(0, 256, (256, 1, 28, 28), dtype=np.uint8)
colour = rng.integers(0, 256, (256, 3, 32, 32), dtype=np.uint8)
out = {}
for name, data in (("grey28", grey), ("colour32", colour)):
    out[f"weak/{name}"] = rate(lambda a: weak(a, name != "grey28"), data)
    out[f"strong/{name}"] = rate(lambda a: strong(a, 2, 9, False, 0), data)
    out[f"strong-scan/{name}"] = rate(lambda a: strong(a, 4, 10, True, 0.5), data)
    out[f"simclr/{name}"] = rate(simclr, data)
print(json.dumps(out))
