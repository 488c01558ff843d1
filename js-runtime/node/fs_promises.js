// node:fs/promises
"use strict";
module.exports = require("fs").promises;
0 && (module.exports = {
  readFile, stat, lstat, readdir, realpath, access, readlink, open, writeFile, appendFile, mkdir, mkdtemp, rm, rmdir,
  unlink, rename, copyFile, cp, symlink, link, chmod, chown, truncate, utimes, constants,
});
