// Does not parse: Runtime.UserCodeSyntaxError at init.
export const handler = async () => ({ ok: true ;
