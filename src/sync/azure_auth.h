/*
 * azure_auth: tokens for Azure Resource Manager, one way per auth mode of
 * an [azure] section (client-credentials flow; scope or resource is the
 * section's management_url).
 *
 *   secret       POST {login_url}/{tenant}/oauth2/v2.0/token, client_secret
 *                read from secret_file (refused when its group or others
 *                may read it)
 *   certificate  the same with a client assertion: a JWT signed with the
 *                key of certificate_file (PS256, x5t#S256 header)
 *   federated    the same with the JWT of token_file, read at each use
 *   arc          GET {identity_url}/metadata/identity/oauth2/token: a 401
 *                whose WWW-Authenticate names a challenge file inside
 *                identity_key_dir, then the same GET with its content
 *   vm           GET {identity_url}/metadata/identity/oauth2/token, once
 *
 * Called from the sync's thread (blocking).  Nothing here logs, and no
 * message it returns holds a secret, an assertion or a token.
 */
#ifndef PLDNS_AZURE_AUTH_H
#define PLDNS_AZURE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "data/config.h"
#include "sync/http.h"

/*
 * Gets a token for AZ.  Returns 0 with *TOKEN (caller frees) valid for
 * *EXPIRES_IN seconds, or -1 with the reason in ERR.
 */
int azure_auth_get(const struct azure_conf *az, struct http_opts *h,
    char **token, long *expires_in, char *err, size_t errlen);

/*
 * The client assertion for auth = certificate: a JWT for CLIENT_ID and the
 * token endpoint AUD, issued at NOW and valid ten minutes, signed (RSA PSS
 * with SHA-256) with the private key of PEM_FILE, which also holds the
 * certificate.  Returns it (caller frees), or NULL with the reason in ERR.
 */
char *azure_auth_jwt(const char *pem_file, const char *client_id,
    const char *aud, time_t now, char *err, size_t errlen);

/*
 * Reads a secret file: refused when it is not a regular file, when its
 * group or others may read or write it, or when it is empty or larger
 * than 64 KB.  Returns the content without surrounding white space (caller
 * frees), or NULL with the reason in ERR.
 */
char *azure_auth_read_secret(const char *path, bool private_only, char *err,
    size_t errlen);

/*
 * The challenge file an Arc agent's WWW-Authenticate ("Basic realm=PATH")
 * names, checked: inside DIR, a name ending in .key, at most 4096 bytes.
 * Returns its content (caller frees), or NULL with the reason in ERR.
 */
char *azure_auth_arc_challenge(const char *www_authenticate, const char *dir,
    char *err, size_t errlen);

#endif
