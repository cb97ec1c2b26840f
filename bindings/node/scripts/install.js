'use strict';
// npm install: nothing to do when a prebuilt addon for this platform loads; otherwise build the
// addon with build.sh, against the library built from the repository (a checkout) or an
// installed libkimberlite (pkg-config kimberlite).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function prebuildLoads() {
  try {
    require(require('node-gyp-build').path(root));
    return true;
  } catch {
    return false;
  }
}

function libraryFolder() {
  const repo = path.join(root, '..', '..');
  if (fs.existsSync(path.join(repo, 'go.mod')) && fs.existsSync(path.join(repo, 'ffi'))) {
    const build = path.join(repo, 'build');
    execFileSync(path.join(repo, 'build.sh'), ['lib', build], { stdio: 'inherit' });
    return build;
  }
  try {
    return execFileSync('pkg-config', ['--variable=libdir', 'kimberlite'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('@kimberlite/client: no prebuilt addon for ' + `${process.platform}-${process.arch}` +
      ' and no libkimberlite to build against: install it (make install in libkimberlite, then' +
      ' pkg-config kimberlite must find it) and a C compiler, then npm install again');
  }
}

if (!prebuildLoads()) {
  execFileSync(path.join(root, 'build.sh'), [libraryFolder()], { stdio: 'inherit' });
}
