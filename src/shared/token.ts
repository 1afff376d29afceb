/** RFC 9110 §5.6.2: a token, one or more tchar (the characters of method names, header names, parameter names). */
export const TOKEN_SOURCE = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";

/** A whole string that is a token. */
export const TOKEN = new RegExp(`^${TOKEN_SOURCE}$`);
