// Optional `postinstall` of the prisma-release npm package: a fallback for installs that left out the
// platform package (optional dependencies omitted, a lockfile from another OS). It downloads that
// package's tarball from the configured npm registry, checks its SHA-256 against the digest recorded
// in this package at release time, and keeps the binary next to the launcher
// (bin/prisma-release-<platform>-<arch>), where the launcher looks when the platform package is
// missing. It never fails the install: on any problem it prints one warning and leaves the launcher
// to explain. Nothing depends on it (pnpm 10 and --ignore-scripts skip it): the platform packages are
// the way the binary is meant to arrive.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

const DOWNLOAD_TIMEOUT_MS = 30000;
const MAX_REDIRECTS = 5;
const own = require("./package.json");
const platformPackages = require("./platforms.json");

async function main() {
  const key = `${process.platform}-${process.arch}`;
  const pkg = platformPackages[key];
  const expected = (own.platformSha256 || {})[key];
  if (!pkg || !expected || isInstalled(pkg) || fs.existsSync(fallbackPath(key))) return;
  const url = tarballUrl(pkg);
  const tarball = await download(url, MAX_REDIRECTS);
  const actual = crypto.createHash("sha256").update(tarball).digest("hex");
  if (actual !== expected) {
    throw new Error(`${url} has SHA-256 ${actual}, expected ${expected}: not installed`);
  }
  const binary = extract(zlib.gunzipSync(tarball), "package/bin/prisma-release");
  const dest = fallbackPath(key);
  fs.writeFileSync(`${dest}.tmp`, binary, { mode: 0o755 });
  fs.renameSync(`${dest}.tmp`, dest);
  process.stderr.write(`prisma-release: ${pkg} was not installed; fetched ${pkg}@${own.version} from the registry (SHA-256 verified)\n`);
}

function isInstalled(pkg) {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** Where the launcher looks for a binary this script fetched. */
function fallbackPath(key) {
  return path.join(__dirname, "bin", `prisma-release-${key}`);
}

/** The registry's tarball URL of the platform package at this package's version. */
function tarballUrl(pkg) {
  const registry = (process.env.npm_config_registry || "https://registry.npmjs.org/").replace(/\/*$/, "/");
  return `${registry}${pkg}/-/${pkg.split("/")[1]}-${own.version}.tgz`;
}

function download(url, redirects) {
  const client = url.startsWith("https:") ? require("https") : require("http");
  return new Promise((resolve, reject) => {
    const request = client.get(url, (response) => {
      const { statusCode, headers } = response;
      if (statusCode >= 300 && statusCode < 400 && headers.location && redirects > 0) {
        response.resume();
        resolve(download(new URL(headers.location, url).toString(), redirects - 1));
        return;
      }
      if (statusCode !== 200) {
        response.resume();
        reject(new Error(`GET ${url}: HTTP ${statusCode}`));
        return;
      }
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => resolve(Buffer.concat(chunks)));
      response.on("error", reject);
    });
    request.setTimeout(DOWNLOAD_TIMEOUT_MS, () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on("error", reject);
  });
}

/** The content of the regular file `name` in an (uncompressed) tar archive. */
function extract(tar, name) {
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    const entry = field(header, 0, 100);
    if (!entry) break;
    const prefix = field(header, 345, 155);
    const size = parseInt(field(header, 124, 12) || "0", 8);
    const full = prefix ? `${prefix}/${entry}` : entry;
    if (full === name && (header[156] === 0x30 || header[156] === 0)) {
      return tar.subarray(offset + 512, offset + 512 + size);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`the package tarball has no ${name}`);
}

function field(header, start, length) {
  return header.subarray(start, start + length).toString("utf8").replace(/\0.*$/s, "").trim();
}

main().catch((err) => {
  process.stderr.write(`prisma-release: warning: postinstall fallback skipped: ${err.message}\n`);
});
