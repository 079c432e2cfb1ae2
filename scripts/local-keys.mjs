// Keys for local development only, matching .dev.vars.example. Never use them anywhere else.
export const LOCAL_SERVICE_KEY = "tally-local-service-key";
export const LOCAL_TELNYX_PRIVATE_KEY_PKCS8 = "MC4CAQAwBQYDK2VwBCIEIC/zAuWowDSQAoWMZtu9LghK2bX1TqSt2j51cr2Gpry5";
export const LOCAL_NOTIFYRE_SECRET = "tally-local-notifyre-secret";
