package erasured

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Scopes an API key may hold.
const (
	ScopeErasureRead     = "erasure_requests:read"
	ScopeErasureWrite    = "erasure_requests:write"
	ScopeErasureWorkflow = "erasure_requests:workflow"
	ScopeRequestsRead    = "requests:read"
	ScopeRequestsWrite   = "requests:write"
	ScopeDeletionsRead   = "deletions:read"
)

// AllScopes lists every scope, for the first key a fresh server makes.
var AllScopes = []string{
	ScopeErasureRead, ScopeErasureWrite, ScopeErasureWorkflow,
	ScopeRequestsRead, ScopeRequestsWrite, ScopeDeletionsRead,
}

// Representations a key may ask /v2/personal-data/* to answer in when a request's
// Accept does not say: JSON:API, or Elastic Path's own JSON.
const (
	RepresentationJSONAPI     = "jsonapi"
	RepresentationElasticPath = "elasticpath"
)

// Representations lists them, the default first.
var Representations = []string{RepresentationJSONAPI, RepresentationElasticPath}

// Key is an API key. Only the hash of its token is ever stored.
type Key struct {
	ID        string
	Name      string
	Email     string
	StoreID   string
	Scopes    []string
	TokenHash string
	CreatedAt time.Time
	// Representation is what the key's requests get where Accept leaves it open.
	Representation string
	// ExpiresAt is when the credential stops working: the key's expiry, or, for a key
	// that an access token stands for, the earlier of that and the token's. Nil: never.
	ExpiresAt *time.Time
	// RevokedAt is when the key was revoked; a revoked key never works again.
	RevokedAt *time.Time
	// LastUsedAt is when the key last authenticated, to within a minute.
	LastUsedAt *time.Time
}

// Usable reports whether the key may authenticate at now: not revoked, not expired.
func (k *Key) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Has reports whether the key holds scope.
func (k *Key) Has(scope string) bool { return slices.Contains(k.Scopes, scope) }

// Initiator is the key's identity as an erasure request records it.
func (k *Key) Initiator() Initiator {
	return Initiator{Email: k.Email, ID: k.ID, Name: k.Name, StoreID: k.StoreID, Type: "client-credentials-token"}
}

// KeyOptions are what a key may be created with besides its description.
type KeyOptions struct {
	// ExpiresIn is how long the key works; 0 is for ever.
	ExpiresIn time.Duration
	// Representation is one of Representations; empty is JSON:API.
	Representation string
}

// NewKey validates a key's description and returns the key and its token, which is shown
// once and never stored. It returns EINVALID for an empty name, email or store, an
// unknown scope or representation, or a negative expiry.
func NewKey(name, email, storeID string, scopes []string, now time.Time, opts ...KeyOptions) (*Key, string, error) {
	for field, v := range map[string]string{"name": name, "email": email, "store": storeID} {
		if strings.TrimSpace(v) == "" {
			return nil, "", FieldErrorf(field, "%s must not be empty", field)
		}
	}
	if len(scopes) == 0 {
		return nil, "", FieldErrorf("scopes", "at least one scope is needed; known scopes: %s", strings.Join(AllScopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(AllScopes, s) {
			return nil, "", FieldErrorf("scopes", "unknown scope %q; known scopes: %s", s, strings.Join(AllScopes, ", "))
		}
	}
	var o KeyOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Representation == "" {
		o.Representation = RepresentationJSONAPI
	}
	if !slices.Contains(Representations, o.Representation) {
		return nil, "", FieldErrorf("representation", "unknown representation %q; known: %s", o.Representation, strings.Join(Representations, ", "))
	}
	if o.ExpiresIn < 0 {
		return nil, "", FieldErrorf("expires-in", "a key cannot expire before it is made")
	}
	token := NewToken(KeyTokenPrefix)
	k := &Key{
		ID:             NewID(),
		Name:           name,
		Email:          email,
		StoreID:        storeID,
		Scopes:         slices.Clone(scopes),
		TokenHash:      HashToken(token),
		CreatedAt:      now,
		Representation: o.Representation,
	}
	if o.ExpiresIn > 0 {
		t := now.Add(o.ExpiresIn)
		k.ExpiresAt = &t
	}
	return k, token, nil
}

// Token prefixes: an API key's, and an access token's (see AccessTokenTTL), so that
// the server knows where to look a token up, and a leaked one can be recognised.
const (
	KeyTokenPrefix    = "erd_"
	AccessTokenPrefix = "era_"
)

// AccessTokenTTL is how long an access token made by OAuth client credentials works,
// as Elastic Path's do.
const AccessTokenTTL = 3600 * time.Second

// NewToken returns a new secret token with prefix: 256 random bits in hex.
func NewToken(prefix string) string {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(secret)
}

// HashToken returns the stored form of a token. The tokens carry 256 random bits, so a
// plain SHA-256 is enough: there is nothing for a slow hash to protect against guessing.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewID returns a new random resource id.
func NewID() string { return uuid.NewString() }
