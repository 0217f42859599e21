// Does not parse: Runtime.UserCodeSyntaxError at init.
exports.handler = async (event) => {
  return { event: ;
};
