"""Draws the coordinators' chart: active pairs per week as a PNG (Pillow). Thin: no decisions."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 260
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 44, 12, 28, 36
ACTIVE, TOTAL, INK, GRID = (46, 125, 50), (200, 200, 200), (40, 40, 40), (230, 230, 230)


def weekly_png(points: Sequence[tuple[date, int, int]], title: str) -> bytes:
    """Bars of running pairs (grey) with the active ones (green) in front, one per week."""
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    draw.text(
        (MARGIN_L, 6), title.encode("latin-1", "replace").decode("latin-1"), fill=INK, font=font
    )
    top = max([t for _, _, t in points] + [1])
    plot_w = WIDTH - MARGIN_L - MARGIN_R
    plot_h = HEIGHT - MARGIN_T - MARGIN_B
    for i in range(5):
        y = MARGIN_T + plot_h - plot_h * i / 4
        draw.line([(MARGIN_L, y), (WIDTH - MARGIN_R, y)], fill=GRID)
        draw.text((4, y - 6), f"{round(top * i / 4)}", fill=INK, font=font)
    n = max(len(points), 1)
    slot = plot_w / n
    bar = max(slot * 0.7, 1)
    for i, (week, active, total) in enumerate(points):
        x0 = MARGIN_L + i * slot + (slot - bar) / 2
        for value, colour in ((total, TOTAL), (active, ACTIVE)):
            h = plot_h * value / top
            draw.rectangle([x0, MARGIN_T + plot_h - h, x0 + bar, MARGIN_T + plot_h], fill=colour)
        if i % -(-n // 10) == 0:  # at most ten date labels, so they never overlap
            draw.text((x0, HEIGHT - MARGIN_B + 6), week.strftime("%d %b"), fill=INK, font=font)
    draw.text((WIDTH - 190, 6), "green: active  grey: running", fill=INK, font=font)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
