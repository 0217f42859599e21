// Requires a package the function does not bring: Runtime.ImportModuleError at init.
const pad = require("left-pad-not-installed");

exports.handler = async (event) => pad(event);
