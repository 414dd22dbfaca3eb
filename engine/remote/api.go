// Package remote serves an image store over HTTPS and is the client of such
// a server: the JSON API under /api/v1/ that lets one console administer many
// deployment servers, with tokens and roles, streaming upload and download of
// WIM files, install sessions held over the network, and an event stream of
// store changes.
//
// The API (every request carries "Authorization: Bearer TOKEN"):
//
//	GET    /api/v1/info                               the caller's role, the server's version   reader
//	GET    /api/v1/events                             server-sent events of store changes       reader
//	GET    /api/v1/groups                             image groups                              reader
//	POST   /api/v1/groups            {"name"}         create a group                            admin
//	PATCH  /api/v1/groups/{group}    {"name"}         rename a group                            admin
//	DELETE /api/v1/groups/{group}[?force=1]           remove a group                            admin
//	POST   /api/v1/groups/{group}/regroup {"into","verify"} rebuild a group                     admin
//	GET    /api/v1/groups/{group}/space               space accounting                          reader
//	POST   /api/v1/groups/{group}/missing HashesRequest which of the hashes its Res.rwm lacks   admin
//	POST   /api/v1/groups/{group}/blobs  WIM body     commit a batch of blobs to Res.rwm        admin
//	POST   /api/v1/groups/{group}/images?file=F  tar  receive an image (its data is there)      admin
//	POST   /api/v1/groups/{group}/copy-to CopyToRequest push the group to another server        admin
//	POST   /api/v1/verify            {"group"}        verify the store or a group               operator
//	GET    /api/v1/images[?group=G&type=T]            images                                    reader
//	POST   /api/v1/images?filename=F&...  WIM body    add images of an uploaded WIM             admin
//	GET    /api/v1/image?ref=R                        one image                                 reader
//	PATCH  /api/v1/image?ref=R       SetImageRequest  change properties (enable, disable, ...)  admin
//	PUT    /api/v1/image/unattend?ref=R  XML body     set the unattend file                     admin
//	DELETE /api/v1/image?ref=R                        remove an image                           admin
//	POST   /api/v1/image/copy?ref=R  CopyRequest      copy an image within its group            admin
//	PUT    /api/v1/image/content?ref=R&... WIM body   replace a disabled image                  admin
//	GET    /api/v1/image/export?ref=R[&name=&description=]  the image as a standalone WIM    operator
//	GET    /api/v1/sessions[?ref=R]                   live install sessions                     reader
//	POST   /api/v1/sessions          SessionRequest   open an install session                   operator
//	POST   /api/v1/sessions/{id}/heartbeat            renew its lease                           operator
//	GET    /api/v1/sessions/{id}/wim                  the session's image as a WIM (ranges)     operator
//	GET    /api/v1/sessions/{id}/image                its metadata-only image file (ranges)     operator
//	GET    /api/v1/sessions/{id}/res                  its group's Res.rwm (ranges)              operator
//	DELETE /api/v1/sessions/{id}                      close it                                  operator
//
// R is an image reference as the command line writes it (GROUP/FILE or
// boot/ARCH/FILE). Errors are JSON objects {"error": message, "code": code}
// with status 400 (bad request), 401 (no or unknown token), 403 (role or
// group limit), 404, 409 (refused in the current state, for example a
// disabled image), 413 (too large) or 503 (busy). Long operations answer
// with a stream of JSON lines (progress reports, then the result) when the
// request asks for "Accept: application/x-ndjson".
//
// Copying a group to another server (CopyGroup, Client.CopyGroupTo) uses the
// first three group routes on the destination: the batches of blobs are
// resource-only WIM files, each committed to Res.rwm whole (append, header
// last), so that a copy broken off resumes by asking again what is missing;
// an image travels as a tar stream of image.wim (its metadata-only WIM),
// state.json (catalog state) and data/... (its external-data folder).
//
// A token limited to image groups sees and acts on those groups only; boot
// images and store-wide actions need an unlimited token.
package remote

import (
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
)

// APIPrefix is the path prefix of every API route.
const APIPrefix = "/api/v1/"

// Error codes of API errors.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeDisabled     = "image_disabled"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeBusy         = "busy"
	CodeInternal     = "internal"
)

// ErrorBody is the JSON body of an error response.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Info is the answer of GET /api/v1/info.
type Info struct {
	Server  string `json:"server"` // host name of the server
	Version string `json:"version"`
	Token   Token  `json:"token"` // the caller's token
}

// NameRequest is the body of group creation and renaming.
type NameRequest struct {
	Name string `json:"name"`
}

// RegroupRequest is the body of a regroup.
type RegroupRequest struct {
	Into   string `json:"into,omitempty"`
	Verify bool   `json:"verify,omitempty"` // see store.RegroupOptions.Verify
}

// VerifyRequest is the body of a verify.
type VerifyRequest struct {
	Group string `json:"group,omitempty"`
}

// SetImageRequest is the body of PATCH /api/v1/image: nil fields stay as
// they are. The unattend file is sent with PUT /api/v1/image/unattend;
// RemoveUnattend removes it.
type SetImageRequest struct {
	Enabled        *bool   `json:"enabled,omitempty"`
	Name           *string `json:"name,omitempty"`
	Description    *string `json:"description,omitempty"`
	DisplayOrder   *int    `json:"display_order,omitempty"`
	RemoveUnattend bool    `json:"remove_unattend,omitempty"`
}

// CopyRequest is the body of POST /api/v1/image/copy.
type CopyRequest struct {
	FileName    string `json:"filename"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// SessionRequest is the body of POST /api/v1/sessions.
type SessionRequest struct {
	Image  string `json:"image"`
	Client string `json:"client,omitempty"`
}

// SessionResponse is the answer to POST /api/v1/sessions.
type SessionResponse struct {
	Session store.Session `json:"session"`
	// TTL is how long the session lives without a heartbeat.
	TTL time.Duration `json:"ttl_ns"`
}

// RefsResponse lists image references (the images add-image created, or the
// copy).
type RefsResponse struct {
	Images []string `json:"images"`
}

// Event is one change of the store, as the event stream delivers it: paths
// relative to the store root that changed (WdsConsole/catalog.db for catalog
// state such as enabled, order and install sessions). Reload says events
// were lost and everything should be read again.
type Event struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Paths  []string  `json:"paths,omitempty"`
	Reload bool      `json:"reload,omitempty"`
}

// streamLine is one line of a long operation's answer in JSON lines.
type streamLine struct {
	Progress *progress.Report `json:"progress,omitempty"`
	Result   any              `json:"result,omitempty"`
	Error    *ErrorBody       `json:"error,omitempty"`
	Status   int              `json:"status,omitempty"`
}

// ndjson is the media type of streamed answers.
const ndjson = "application/x-ndjson"
