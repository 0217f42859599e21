// CommonJS by its extension.
exports.handler = async (event) => ({ module: "cjs", event, cjs: typeof require === "function" });
