// Draws the app and tray icons from one vector source and writes them to resources/ (committed:
// packaging must not depend on this script). Run `node scripts/make-icons.mjs` after changing the
// drawing. macOS needs ≥ 512×512 for an .icns (electron-builder refuses smaller: ERR_ICON_TOO_SMALL),
// so the app icon is 1024×1024; the tray gets "Template" images (black + alpha, 16 px and @2x), which
// macOS recolours for light and dark menu bars, and a coloured 32 px image elsewhere.
import path from 'node:path';
import sharp from 'sharp';

const out = path.resolve(import.meta.dirname, '../resources');

// A camera lens in a rounded square: an outer ring, the iris, a glint.
const glyph = (fill) => `
  <circle cx="512" cy="512" r="300" fill="none" stroke="${fill}" stroke-width="92"/>
  <circle cx="512" cy="512" r="150" fill="${fill}"/>
  <circle cx="570" cy="452" r="44" fill="${fill === '#000' ? 'none' : '#4f9dff'}"/>`;

const appSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024" viewBox="0 0 1024 1024">
  <defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#4f9dff"/><stop offset="1" stop-color="#1f5fcf"/></linearGradient></defs>
  <rect x="64" y="64" width="896" height="896" rx="200" fill="url(#g)"/>
  ${glyph('#fff')}
</svg>`;
// Template: the glyph alone, black on transparent, drawn a little bolder so it survives 16 px.
const templateSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024" viewBox="0 0 1024 1024">
  <circle cx="512" cy="512" r="380" fill="none" stroke="#000" stroke-width="150"/>
  <circle cx="512" cy="512" r="170" fill="#000"/>
</svg>`;

const png = (svg, size) => sharp(Buffer.from(svg), { density: 72 * (size / 1024) * 4 }).resize(size, size).png({ compressionLevel: 9 });

await png(appSvg, 1024).toFile(path.join(out, 'icon.png'));
await png(appSvg, 32).toFile(path.join(out, 'tray.png'));
await png(templateSvg, 16).toFile(path.join(out, 'trayTemplate.png'));
await png(templateSvg, 32).toFile(path.join(out, 'trayTemplate@2x.png'));
console.log(`icons written to ${out}`);
