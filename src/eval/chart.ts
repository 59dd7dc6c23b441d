import fs from "node:fs";
import type {Interval} from "./metrics.js";
import {Raster, type RGB} from "./png.js";
import type {RunReport} from "./report.js";

const palette: RGB[] = [[120, 120, 120], [86, 180, 233], [0, 114, 178], [230, 159, 0], [204, 121, 167], [0, 158, 115], [213, 94, 0]];
const ink: RGB = [30, 30, 30];
const grid: RGB = [225, 225, 225];

/** Rounds a maximum up to 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
    if (!(value > 0))
        return 1;
    const p = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= value)!;
}

interface Panel {
    title: string;
    values: Interval[];
    scale: number;
    max?: number;
}

/**
 * The run's chart: one panel per measure (accuracy with Wilson intervals, rounds, wall time per task with normal
 * intervals), one bar per mode in a fixed colour, a legend below; drawn into a PNG with the built-in font.
 */
export function renderChart(report: RunReport): Buffer {
    const modes = report.modes;
    const panels: Panel[] = [
        {title: report.meta.suite === "code" ? "pass@1 %" : "EM %", values: modes.map((m) => m.accuracy), scale: 100, max: 100},
        {title: "rounds", values: modes.map((m) => m.rounds), scale: 1},
        {title: "wall s / task", values: modes.map((m) => m.totalMs), scale: 0.001}
    ];
    const panelW = 300, panelH = 300, top = 100, left = 50, gap = 40;
    const width = left + panels.length * (panelW + gap), height = top + panelH + 100;
    const r = new Raster(width, height);
    r.text(left, 14, `${report.meta.suite}: ${report.meta.model.name}`.slice(0, 70), ink, 2);
    r.text(left, 38, `n = ${modes.map((m) => m.n).join("/")} per mode, 95% intervals`, [90, 90, 90], 2);

    panels.forEach((panel, p) => {
        const x0 = left + p * (panelW + gap);
        const y0 = top + panelH;
        const highs = panel.values.map((v) => (Number.isNaN(v.high) ? 0 : v.high) * panel.scale);
        const max = panel.max ?? niceMax(Math.max(...highs, 0) * 1.05);
        for (let i = 0; i <= 4; i++) {
            const y = y0 - i * panelH / 4;
            r.hLine(x0, x0 + panelW, Math.round(y), grid);
            const label = formatTick(max * i / 4);
            r.text(x0 - 6 - label.length * 12, Math.round(y) - 5, label, ink, 2);
        }
        r.vLine(x0, top, y0, ink);
        r.hLine(x0, x0 + panelW, y0, ink);
        r.text(x0 + 4, top - 26, panel.title, ink, 2);
        const slot = panelW / panel.values.length;
        panel.values.forEach((v, i) => {
            if (Number.isNaN(v.value))
                return;
            const px = (value: number) => y0 - Math.max(0, Math.min(max, value * panel.scale)) * panelH / max;
            const bx = x0 + i * slot + slot * 0.15;
            const bw = slot * 0.7;
            const by = px(v.value);
            r.fillRect(bx, by, bw, y0 - by, palette[i % palette.length]!);
            const cx = Math.round(bx + bw / 2);
            const lo = Math.round(px(v.low)), hi = Math.round(px(v.high));
            r.vLine(cx, hi, lo, ink, 2);
            r.hLine(cx - 6, cx + 6, hi, ink, 2);
            r.hLine(cx - 6, cx + 6, lo, ink, 2);
        });
    });

    let lx = left, ly = top + panelH + 30;
    modes.forEach((m, i) => {
        const w = 22 + Raster.textWidth(m.mode, 2) + 24;
        if (lx + w > width - 10) {
            lx = left;
            ly += 28;
        }
        r.fillRect(lx, ly, 16, 16, palette[i % palette.length]!);
        r.text(lx + 22, ly + 1, m.mode, ink, 2);
        lx += w;
    });
    return r.toPng();
}

function formatTick(value: number): string {
    return Number.isInteger(value) ? String(value) : value < 10 ? value.toFixed(1) : value.toFixed(0);
}

export function writeChart(file: string, report: RunReport): void {
    fs.writeFileSync(file, renderChart(report));
}
