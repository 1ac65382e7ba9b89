import type { CSSProperties } from 'react';
import { VideoTile, type TileModel, type TileSizeHandler, type TileVisibilityHandler } from './VideoTile.tsx';

function columns(n: number): number {
  if (n <= 1) return 1;
  if (n <= 4) return 2;
  if (n <= 9) return 3;
  return 4;
}

/** A responsive grid: columns follow the tile count; narrow screens use fewer columns. */
export function VideoGrid({
  tiles,
  onVisibility,
  onSize,
}: {
  tiles: TileModel[];
  onVisibility?: TileVisibilityHandler;
  onSize?: TileSizeHandler;
}) {
  const n = tiles.length;
  const style = {
    '--cols': columns(n),
    '--rows': Math.ceil(n / columns(n)),
    '--cols-narrow': n <= 2 ? 1 : 2,
    '--rows-narrow': n <= 2 ? n : Math.ceil(n / 2),
  } as CSSProperties;
  return (
    <section className="grid" style={style} data-testid="video-grid" data-count={n} aria-label="Participants">
      {tiles.map((tile) => (
        <div className="cell" key={tile.key}>
          <VideoTile tile={tile} onVisibility={onVisibility} onSize={onSize} />
        </div>
      ))}
    </section>
  );
}
