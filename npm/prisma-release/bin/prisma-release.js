#!/usr/bin/env node
// The `prisma-release` command of the npm package: finds the static binary that npm installed from
// the platform package (@prisma-release/linux-x64 or @prisma-release/linux-arm64, optional
// dependencies of this package) and runs it with the same arguments, stdio and environment.
// It never downloads anything: the release phase and the boot guard must not depend on the network.
// Signals this process receives are forwarded to the binary, each time (Heroku sends SIGTERM to every
// process of a dyno, possibly more than once), and the binary's exit code (or the signal that ended
// it) becomes this process's.
"use strict";

const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** Exit code when no binary can be run (the shell's "command not found"). */
const NOT_INSTALLED = 127;
const FORWARDED_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
const own = require("../package.json");
const platformPackages = require("../platforms.json");

function main() {
  const binary = findBinary();
  const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });
  const forwarders = FORWARDED_SIGNALS.map((signal) => {
    const forward = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    process.on(signal, forward);
    return [signal, forward];
  });
  child.on("error", (err) => {
    fail([`prisma-release: cannot run ${binary}: ${err.message}`,
      "Reinstall the package (`npm ci` or `npm install`), or run that file directly to see why it does not start."]);
  });
  child.on("exit", (code, signal) => {
    for (const [name, forward] of forwarders) process.removeListener(name, forward);
    if (signal) {
      // End the same way the binary ended, so a supervisor sees the signal, not an exit code; should
      // the signal not end Node (SIGUSR1 starts its inspector), exit with the shell's 128 + number.
      process.exitCode = 128 + (os.constants.signals[signal] || 0);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code);
  });
}

/** The path of the platform package's binary, or a clear failure saying why there is none. */
function findBinary() {
  const key = `${process.platform}-${process.arch}`;
  const pkg = platformPackages[key];
  if (!pkg) {
    fail([
      `prisma-release: no prebuilt binary for this platform (${key}); there are binaries for ${Object.keys(platformPackages).join(", ")}.`,
      "Run it on Linux (e.g. on Heroku, or in a Linux container), or build it from source:",
      "  cargo install --locked --git https://github.com/prisma-release/prisma-release",
    ]);
  }
  let manifest;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    // The optional postinstall (install.js) may have fetched the binary instead.
    const fetched = path.join(__dirname, `prisma-release-${key}`);
    if (fs.existsSync(fetched)) return fetched;
    fail(missingPackage(pkg, key));
  }
  const binary = path.join(path.dirname(manifest), "bin", "prisma-release");
  if (!fs.existsSync(binary)) {
    fail([`prisma-release: ${pkg} is installed but has no bin/prisma-release (${binary}).`,
      "Reinstall it: rm -rf node_modules && npm ci"]);
  }
  const installed = require(manifest).version;
  if (installed !== own.version) {
    process.stderr.write(`prisma-release: warning: ${pkg} is version ${installed} but prisma-release is ${own.version}; ` +
      "they are meant to be the same (npm install again to fix the lockfile).\n");
  }
  return binary;
}

/** Why the platform package can be missing, and what to do about each cause. */
function missingPackage(pkg, key) {
  const omitted = /optional/.test(`${process.env.npm_config_omit || ""} ${process.env.NPM_CONFIG_OMIT || ""}`) ||
    process.env.npm_config_optional === "false";
  return [
    `prisma-release: the binary for this platform (${key}) is not installed: the package ${pkg}@${own.version} is missing.`,
    "npm installs it as an optional dependency of prisma-release; it is left out when",
    `  * optional dependencies are omitted (npm install --omit=optional / --no-optional, NPM_CONFIG_OMIT=optional, yarn --ignore-optional)${omitted ? " -- this is set now" : ""}:`,
    "    install without that option;",
    "  * package-lock.json was written on another OS or CPU (e.g. macOS) by an npm that recorded only that platform's",
    "    optional dependency: delete node_modules and package-lock.json, run npm install again, commit the new lockfile;",
    `  * or add it explicitly: npm install --save-exact ${pkg}@${own.version}`,
    "This launcher never downloads at run time.",
  ];
}

function fail(lines) {
  process.stderr.write(lines.join("\n") + "\n");
  process.exit(NOT_INSTALLED);
}

main();
