/** Rows for this project (not the 1.0.1 original) are drawn in blue, the alternatives in grey. */
const ours = (label: string) => /^mcp-session-manager[:,]/.test(label);

/** A horizontal bar chart as a standalone SVG: one bar per row, the value printed at its end. */
export function barChart(title: string, unit: string, rows: Array<[string, number]>): string {
  const labelWidth = 430;
  const barWidth = 380;
  const rowHeight = 26;
  const top = 40;
  const width = labelWidth + barWidth + 110;
  const height = top + rows.length * rowHeight + 16;
  const max = Math.max(...rows.map(([, value]) => value), 1e-9);
  const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const format = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  const bars = rows.map(([label, value], index) => {
    const y = top + index * rowHeight;
    const length = Math.max(1, (value / max) * barWidth);
    return [
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escape(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${length.toFixed(1)}" height="${rowHeight - 8}" fill="${ours(label) ? "#2f6fb0" : "#9aa5b1"}"/>`,
      `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + 17}">${format(value)} ${escape(unit)}</text>`,
    ].join("");
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
    ...bars,
    "</svg>",
    "",
  ].join("\n");
}
