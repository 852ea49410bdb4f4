package resources

import (
	"net/http"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources/jsonapi"
)

// AccessTokenPath is where OAuth 2.0 client credentials are exchanged for an access
// token, as Elastic Path's SDKs do it.
const AccessTokenPath = "/oauth/access_token"

// formBodies is the media type the token endpoint takes.
var formBodies = []jsonapi.Offer{{Type: "application/x-www-form-urlencoded", Params: map[string]string{"charset": "utf-8"}}}

// accessToken is POST /oauth/access_token with grant_type=client_credentials, client_id
// (an API key's id) and client_secret (its token): it answers an access token that works
// as the key does for erasured.AccessTokenTTL, in Elastic Path's shape. Errors are
// Elastic Path's: a wrong secret, or an unknown, revoked or expired client, 401; another
// grant type, 400 unsupported_grant_type.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	if err := jsonapi.CheckContentType(r.Header.Get("Content-Type"), formBodies...); err != nil {
		return err
	}
	body, err := jsonapi.ReadBody(r)
	if err != nil {
		return err
	}
	// Read as strictly as a query string: a parameter that does not parse is refused,
	// never dropped. OAuth says to ignore parameters it does not define.
	form, err := jsonapi.ParseQuery(string(body))
	if err != nil {
		return err
	}
	for _, name := range []string{"grant_type", "client_id", "client_secret"} {
		if len(form.Values[name]) > 1 {
			return jsonapi.ParamError(name, "%s may be given only once", name)
		}
	}
	if grant := form.Get("grant_type"); grant != "client_credentials" {
		return jsonapi.ParamError("grant_type", "unsupported_grant_type: grant_type must be client_credentials, not %q", grant)
	}
	token := erasured.NewToken(erasured.AccessTokenPrefix)
	now := erasured.Now()
	expires, err := s.db.IssueAccessToken(r.Context(), form.Get("client_id"), form.Get("client_secret"), erasured.HashToken(token), now)
	if err != nil {
		return err
	}
	// Tokens are credentials: no cache may keep the answer.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, accessTokenBody{
		AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(erasured.AccessTokenTTL.Seconds()),
		Expires: expires.Unix(), Identifier: "client_credentials",
	})
	return nil
}

// accessTokenBody is Elastic Path's answer to client credentials.
type accessTokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Expires     int64  `json:"expires"`
	Identifier  string `json:"identifier"`
}
