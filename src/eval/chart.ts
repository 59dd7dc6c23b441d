import fs from "node:fs";
import type {Interval} from "./metrics.js";
import {settingsLine, type RunReport} from "./report.js";

const palette = ["#787878", "#56b4e9", "#0072b2", "#e69f00", "#cc79a7", "#009e73", "#d55e00"];
const ink = "#1e1e1e";
const grid = "#e1e1e1";

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

export function escapeXml(text: string): string {
    return text.replace(/[<>&"']/g, (c) => ({"<": "&lt;", ">": "&gt;", "&": "&amp;", "\"": "&quot;", "'": "&apos;"})[c]!);
}

const f = (x: number) => Number.isInteger(x) ? String(x) : x.toFixed(1);

/**
 * The run's chart as SVG (real text, so it renders in GitHub Markdown and can be searched): one pass@1 panel per
 * data set (Wilson intervals), then wall time and prompt tokens per task over all sets (normal intervals), one bar
 * per mode in a fixed colour, and a legend. The title states the model, KV type and budget.
 */
export function renderChart(report: RunReport): string {
    const modes = report.modes;
    const accuracy = report.meta.suite === "code" ? "pass@1 %" : "EM %";
    const sets = report.sets.length > 0 ? report.sets : [{set: "all", modes}];
    const panels: Panel[] = [
        ...sets.map((s) => ({title: `${accuracy}: ${s.set.replace(/^EvoEval_/, "")} (n ${Math.max(0, ...s.modes.map((m) => m.n))})`,
            values: s.modes.map((m) => m.accuracy), scale: 100, max: 100})),
        {title: "wall s / task", values: modes.map((m) => m.totalMs), scale: 0.001},
        {title: "prompt tokens / task", values: modes.map((m) => m.tokensIn), scale: 1}
    ];
    const panelW = 220, panelH = 180, left = 50, gap = 50, top = 80, rowH = panelH + 70;
    const perRow = Math.min(panels.length, 4);
    const rows = Math.ceil(panels.length / perRow);
    const width = left + perRow * (panelW + gap);
    const legendY = top + rows * rowH;
    const height = legendY + 40;
    const out: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
        `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
        `<text x="${left}" y="24" font-size="16" fill="${ink}">${escapeXml(`${report.meta.suite}: ${report.meta.model.name}`)}</text>`,
        `<text x="${left}" y="44" fill="#5a5a5a">${escapeXml(settingsLine(report.meta).replace(/`/g, ""))}</text>`,
        `<text x="${left}" y="62" fill="#5a5a5a">${escapeXml(`phase 1: ${report.phase1.n} logs; bars: mean, whiskers: 95 % interval`)}</text>`
    ];
    panels.forEach((panel, p) => {
        const x0 = left + (p % perRow) * (panelW + gap);
        const y0 = top + Math.floor(p / perRow) * rowH + 30 + panelH;
        const highs = panel.values.map((v) => (Number.isNaN(v.high) ? 0 : v.high) * panel.scale);
        const max = panel.max ?? niceMax(Math.max(...highs, 0) * 1.05);
        out.push(`<text x="${x0}" y="${y0 - panelH - 10}" fill="${ink}">${escapeXml(panel.title)}</text>`);
        for (let i = 0; i <= 4; i++) {
            const y = y0 - i * panelH / 4;
            out.push(`<line x1="${x0}" y1="${f(y)}" x2="${x0 + panelW}" y2="${f(y)}" stroke="${grid}"/>`,
                `<text x="${x0 - 6}" y="${f(y + 4)}" text-anchor="end" fill="${ink}">${f(max * i / 4)}</text>`);
        }
        out.push(`<line x1="${x0}" y1="${y0 - panelH}" x2="${x0}" y2="${y0}" stroke="${ink}"/>`,
            `<line x1="${x0}" y1="${y0}" x2="${x0 + panelW}" y2="${y0}" stroke="${ink}"/>`);
        const slot = panelW / Math.max(1, panel.values.length);
        panel.values.forEach((v, i) => {
            if (Number.isNaN(v.value))
                return;
            const px = (value: number) => y0 - Math.max(0, Math.min(max, value * panel.scale)) * panelH / max;
            const bx = x0 + i * slot + slot * 0.15, bw = slot * 0.7, by = px(v.value);
            out.push(`<rect x="${f(bx)}" y="${f(by)}" width="${f(bw)}" height="${f(y0 - by)}" fill="${palette[i % palette.length]}"><title>${escapeXml(`${modes[i]?.mode ?? ""}: ${(v.value * panel.scale).toFixed(1)}`)}</title></rect>`);
            if (!Number.isNaN(v.low) && !Number.isNaN(v.high)) {
                const cx = bx + bw / 2, lo = px(v.low), hi = px(v.high);
                out.push(`<path d="M${f(cx)} ${f(hi)}V${f(lo)}M${f(cx - 5)} ${f(hi)}H${f(cx + 5)}M${f(cx - 5)} ${f(lo)}H${f(cx + 5)}" stroke="${ink}" stroke-width="1.5" fill="none"/>`);
            }
        });
    });
    let lx = left;
    modes.forEach((m, i) => {
        out.push(`<rect x="${lx}" y="${legendY}" width="12" height="12" fill="${palette[i % palette.length]}"/>`,
            `<text x="${lx + 18}" y="${legendY + 11}" fill="${ink}">${escapeXml(m.mode)}</text>`);
        lx += 30 + m.mode.length * 8;
    });
    out.push("</svg>");
    return out.join("\n") + "\n";
}

export function writeChart(file: string, report: RunReport): void {
    fs.writeFileSync(file, renderChart(report));
}
