// A subscriber's TOTP secret, made in this browser (crypto.getRandomValues), and its
// otpauth:// URI (Google Authenticator's Key Uri Format) as a QR code for an authenticator
// app. The QR encoder is uqr (npm, pinned in the Makefile, served from this API as uqr.mjs),
// loaded only when a secret is shown.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// 20 random bytes (160 bits, RFC 4226's recommended length) as 32 base32 characters.
export function newSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export function otpauthUri({ streamId, subscriberId, secret, period }) {
  const label = encodeURIComponent(`streamauth:${streamId}/${subscriberId}`);
  const query = new URLSearchParams({
    secret,
    issuer: "streamauth",
    algorithm: "SHA1",
    digits: "6",
    period: String(period),
  });
  return `otpauth://totp/${label}?${query}`;
}

// An <svg> of `text`'s QR code (modules as one path, a 4-module quiet zone), or null when
// the encoder is not installed (make console-ui).
export async function qrSvg(text, name) {
  let encode;
  try {
    ({ encode } = await import("./uqr.mjs"));
  } catch {
    return null;
  }
  const { data, size } = encode(text, { ecc: "M", border: 0 });
  const quiet = 4;
  const side = size + 2 * quiet;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${side} ${side}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", name);
  svg.setAttribute("shape-rendering", "crispEdges");
  const background = document.createElementNS(ns, "rect");
  background.setAttribute("width", String(side));
  background.setAttribute("height", String(side));
  background.setAttribute("fill", "#fff");
  svg.append(background);
  let d = "";
  data.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) d += `M${x + quiet},${y + quiet}h1v1h-1z`;
    }),
  );
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000");
  svg.append(path);
  return svg;
}
