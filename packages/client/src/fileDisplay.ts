/**
 * How a shared file is shown: its size for people, and whether it previews inline. Apart from
 * files.ts (uploads and links), so an app that only formats sizes does not bundle the upload code.
 */

/** Types shown inline as images (others are download links only). */
export const PREVIEWABLE_IMAGE_TYPES: ReadonlySet<string> = /* @__PURE__ */ new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export function isPreviewableImage(type: string): boolean {
  return PREVIEWABLE_IMAGE_TYPES.has(type.split(';')[0]?.trim().toLowerCase() ?? '');
}

/** "1.4 MB" style sizes (decimal units, like most file managers). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}
