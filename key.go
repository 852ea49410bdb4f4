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

// Key is an API key. Only the hash of its token is ever stored.
type Key struct {
	ID        string
	Name      string
	Email     string
	StoreID   string
	Scopes    []string
	TokenHash string
	CreatedAt time.Time
}

// Has reports whether the key holds scope.
func (k *Key) Has(scope string) bool { return slices.Contains(k.Scopes, scope) }

// Initiator is the key's identity as an erasure request records it.
func (k *Key) Initiator() Initiator {
	return Initiator{Email: k.Email, ID: k.ID, Name: k.Name, StoreID: k.StoreID, Type: "client-credentials-token"}
}

// NewKey validates a key's description and returns the key and its token, which is shown
// once and never stored. It returns EINVALID for an empty name, email or store, or an
// unknown scope.
func NewKey(name, email, storeID string, scopes []string, now time.Time) (*Key, string, error) {
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
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	token := "erd_" + hex.EncodeToString(secret)
	return &Key{
		ID:        NewID(),
		Name:      name,
		Email:     email,
		StoreID:   storeID,
		Scopes:    slices.Clone(scopes),
		TokenHash: HashToken(token),
		CreatedAt: now,
	}, token, nil
}

// HashToken returns the stored form of a token. The tokens carry 256 random bits, so a
// plain SHA-256 is enough: there is nothing for a slow hash to protect against guessing.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewID returns a new random resource id.
func NewID() string { return uuid.NewString() }
