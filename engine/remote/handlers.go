package remote

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
)

var okBody = map[string]bool{"ok": true}

func (srv *Server) routes() {
	srv.mux = http.NewServeMux()
	p := func(s string) string {
		m, path, _ := strings.Cut(s, " ")
		return m + " " + APIPrefix + path
	}
	srv.handle(p("GET info"), RoleReader, srv.info)
	srv.handle(p("GET events"), RoleReader, srv.serveEvents)
	srv.handle(p("GET groups"), RoleReader, srv.listGroups)
	srv.handle(p("POST groups"), RoleAdmin, srv.addGroup)
	srv.handle(p("PATCH groups/{group}"), RoleAdmin, srv.renameGroup)
	srv.handle(p("DELETE groups/{group}"), RoleAdmin, srv.removeGroup)
	srv.handle(p("POST groups/{group}/regroup"), RoleAdmin, srv.regroup)
	srv.handle(p("GET groups/{group}/space"), RoleReader, srv.space)
	srv.handle(p("POST groups/{group}/missing"), RoleAdmin, srv.missingBlobs)
	srv.handle(p("POST groups/{group}/blobs"), RoleAdmin, srv.receiveBlobs)
	srv.handle(p("POST groups/{group}/images"), RoleAdmin, srv.receiveImage)
	srv.handle(p("POST groups/{group}/copy-to"), RoleAdmin, srv.copyTo)
	srv.handle(p("POST verify"), RoleOperator, srv.verify)
	srv.handle(p("GET images"), RoleReader, srv.listImages)
	srv.handle(p("POST images"), RoleAdmin, srv.addImage)
	srv.handle(p("GET image"), RoleReader, srv.getImage)
	srv.handle(p("PATCH image"), RoleAdmin, srv.setImage)
	srv.handle(p("PUT image/unattend"), RoleAdmin, srv.putUnattend)
	srv.handle(p("DELETE image"), RoleAdmin, srv.removeImage)
	srv.handle(p("POST image/copy"), RoleAdmin, srv.copyImage)
	srv.handle(p("PUT image/content"), RoleAdmin, srv.replaceImage)
	srv.handle(p("GET image/export"), RoleOperator, srv.exportImage)
	srv.handle(p("GET sessions"), RoleReader, srv.listSessions)
	srv.handle(p("POST sessions"), RoleOperator, srv.openSession)
	srv.handle(p("POST sessions/{id}/heartbeat"), RoleOperator, srv.heartbeat)
	srv.handle(p("GET sessions/{id}/wim"), RoleOperator, srv.sessionWIM)
	srv.handle(p("GET sessions/{id}/image"), RoleOperator, srv.sessionImage)
	srv.handle(p("GET sessions/{id}/res"), RoleOperator, srv.sessionRes)
	srv.handle(p("DELETE sessions/{id}"), RoleOperator, srv.closeSession)
	// Everything else under the prefix: a JSON 404 after authentication,
	// so that probing the API without a token learns nothing.
	srv.handle(APIPrefix, RoleReader, func(w http.ResponseWriter, r *http.Request, tok Token) error {
		return errf(http.StatusNotFound, CodeNotFound, "no API route %s %s", r.Method, r.URL.Path)
	})
}

func (srv *Server) info(w http.ResponseWriter, r *http.Request, tok Token) error {
	writeJSON(w, http.StatusOK, Info{Server: srv.host, Version: srv.o.Version, Token: tok})
	return nil
}

func (srv *Server) listGroups(w http.ResponseWriter, r *http.Request, tok Token) error {
	var gs []store.GroupInfo
	if err := srv.short(func() (err error) { gs, err = srv.st.GroupInfos(); return }); err != nil {
		return err
	}
	out := []store.GroupInfo{}
	for _, g := range gs {
		if tok.HasGroup(g.Name) {
			g.Path = "" // server paths are not the client's business
			out = append(out, g)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (srv *Server) addGroup(w http.ResponseWriter, r *http.Request, tok Token) error {
	var req NameRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	if err := store.CheckGroupName(req.Name); err != nil {
		return badRequest(err)
	}
	if err := needGroup(tok, req.Name); err != nil {
		return err
	}
	if err := srv.short(func() error { return srv.st.AddGroup(req.Name) }); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, okBody)
	return nil
}

func (srv *Server) renameGroup(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	var req NameRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	if err := store.CheckGroupName(req.Name); err != nil {
		return badRequest(err)
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	if err := needGroup(tok, req.Name); err != nil {
		return err
	}
	if err := srv.st.RenameGroup(g, req.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (srv *Server) removeGroup(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	force, err := boolParam(r, "force")
	if err != nil {
		return err
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	if err := srv.st.RemoveGroup(g, force); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (srv *Server) regroup(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	var req RegroupRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	if req.Into != "" {
		if err := store.CheckGroupName(req.Into); err != nil {
			return badRequest(err)
		}
		if err := needGroup(tok, req.Into); err != nil {
			return err
		}
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	return srv.long(w, r, http.StatusOK, func(report progress.Func) (any, error) {
		return srv.st.Regroup(r.Context(), g, store.RegroupOptions{Into: req.Into, Verify: req.Verify, Progress: report})
	})
}

func (srv *Server) space(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	gs, err := srv.st.Space(r.Context(), g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, gs)
	return nil
}

func (srv *Server) verify(w http.ResponseWriter, r *http.Request, tok Token) error {
	var req VerifyRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	if req.Group == "" {
		if err := needAll(tok, "verifying the whole store"); err != nil {
			return err
		}
	} else {
		if err := store.CheckGroupName(req.Group); err != nil {
			return badRequest(err)
		}
		if err := needGroup(tok, req.Group); err != nil {
			return err
		}
	}
	return srv.long(w, r, http.StatusOK, func(report progress.Func) (any, error) {
		res, err := srv.st.VerifyStore(r.Context(), req.Group, report)
		if errors.Is(err, store.ErrVerify) && res != nil {
			// Problems are the answer, not a failure of the request.
			return res, nil
		}
		if res != nil {
			for i := range res.Problems {
				res.Problems[i].Path = srv.relPath(res.Problems[i].Path)
			}
		}
		return res, err
	})
}

// relPath shows a server path relative to the store root.
func (srv *Server) relPath(p string) string {
	if rel, err := filepath.Rel(srv.st.Root(), p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return p
}

func (srv *Server) listImages(w http.ResponseWriter, r *http.Request, tok Token) error {
	q := r.URL.Query()
	o := store.ListOptions{Group: q.Get("group"), Type: q.Get("type")}
	switch o.Type {
	case "", "all":
		o.Type = ""
	case store.TypeInstall, store.TypeBoot:
	default:
		return errf(http.StatusBadRequest, CodeBadRequest, "type=%q: want install, boot or all", o.Type)
	}
	if o.Group != "" {
		if err := store.CheckGroupName(o.Group); err != nil {
			return badRequest(err)
		}
		if err := needGroup(tok, o.Group); err != nil {
			return err
		}
	}
	o.NoSpace, _ = strconv.ParseBool(q.Get("nospace"))
	var ims []store.Image
	if err := srv.short(func() (err error) { ims, err = srv.st.ListImages(r.Context(), o); return }); err != nil {
		return err
	}
	out := []store.Image{}
	for _, im := range ims {
		if (im.Type == store.TypeBoot && tok.AllGroups()) || (im.Type != store.TypeBoot && tok.HasGroup(im.Group)) {
			im.Path = srv.relPath(im.Path)
			out = append(out, im)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (srv *Server) imageArg(r *http.Request, tok Token) (store.ImageRef, error) {
	ref, err := refParam(r)
	if err != nil {
		return ref, err
	}
	return ref, needImage(tok, ref)
}

func (srv *Server) getImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	ref, err := srv.imageArg(r, tok)
	if err != nil {
		return err
	}
	var im store.Image
	if err := srv.short(func() (err error) { im, err = srv.st.GetImage(r.Context(), ref); return }); err != nil {
		return err
	}
	im.Path = srv.relPath(im.Path)
	writeJSON(w, http.StatusOK, im)
	return nil
}

func (srv *Server) setImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	ref, err := srv.imageArg(r, tok)
	if err != nil {
		return err
	}
	var req SetImageRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	o := store.SetOptions{Enabled: req.Enabled, Name: req.Name, Description: req.Description, DisplayOrder: req.DisplayOrder}
	if req.RemoveUnattend {
		empty := ""
		o.Unattend = &empty
	}
	if o == (store.SetOptions{}) {
		return errf(http.StatusBadRequest, CodeBadRequest, "nothing to change")
	}
	if err := srv.short(func() error { return srv.st.SetImage(r.Context(), ref, o) }); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (srv *Server) putUnattend(w http.ResponseWriter, r *http.Request, tok Token) error {
	ref, err := srv.imageArg(r, tok)
	if err != nil {
		return err
	}
	path, cleanup, err := srv.receive(w, r, "ImageUnattend.xml", MaxUnattend)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := srv.short(func() error { return srv.st.SetImage(r.Context(), ref, store.SetOptions{Unattend: &path}) }); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (srv *Server) removeImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	ref, err := srv.imageArg(r, tok)
	if err != nil {
		return err
	}
	if err := srv.st.RemoveImage(r.Context(), ref); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (srv *Server) copyImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	ref, err := srv.imageArg(r, tok)
	if err != nil {
		return err
	}
	var req CopyRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	if err := store.CheckFileName(req.FileName); err != nil {
		return badRequest(err)
	}
	nr, err := srv.st.CopyImage(r.Context(), ref, store.CopyOptions{FileName: req.FileName, Name: req.Name, Description: req.Description})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, RefsResponse{Images: []string{nr.String()}})
	return nil
}

// uploadName checks the file name a client gives its upload; add-image names
// images after it.
func uploadName(r *http.Request) (string, error) {
	name := strings.TrimSuffix(r.URL.Query().Get("filename"), ".wim")
	if name == "" {
		name = "install"
	}
	if err := store.CheckFileName(name); err != nil {
		return "", badRequest(err)
	}
	return name + ".wim", nil
}

func (srv *Server) addImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	q := r.URL.Query()
	name, err := uploadName(r)
	if err != nil {
		return err
	}
	o := store.AddOptions{Group: q.Get("group"), Arch: q.Get("arch"), Name: q.Get("name"),
		Description: q.Get("description"), FileName: q.Get("image_filename")}
	if o.Boot, err = boolParam(r, "boot"); err != nil {
		return err
	}
	if o.SkipVerify, err = boolParam(r, "skip_verify"); err != nil {
		return err
	}
	for _, s := range q["index"] {
		i, err := strconv.Atoi(s)
		if err != nil || i < 1 {
			return errf(http.StatusBadRequest, CodeBadRequest, "index=%q: image indexes are numbers from 1", s)
		}
		o.Indexes = append(o.Indexes, i)
	}
	if o.FileName != "" {
		if err := store.CheckFileName(o.FileName); err != nil {
			return badRequest(err)
		}
	}
	if o.Boot {
		if o.Group != "" {
			return errf(http.StatusBadRequest, CodeBadRequest, "boot images have no group (use arch=)")
		}
		if o.Arch != "" {
			if err := store.CheckGroupName(o.Arch); err != nil {
				return badRequest(err)
			}
		}
		if err := needAll(tok, "adding boot images"); err != nil {
			return err
		}
	} else {
		g := o.Group
		if g == "" {
			g = store.DefaultGroup
		}
		if err := store.CheckGroupName(g); err != nil {
			return badRequest(err)
		}
		if err := needGroup(tok, g); err != nil {
			return err
		}
	}
	path, cleanup, err := srv.receive(w, r, name, srv.o.MaxUpload)
	if err != nil {
		return err
	}
	defer cleanup()
	return srv.long(w, r, http.StatusCreated, func(report progress.Func) (any, error) {
		o.Progress = report
		refs, err := srv.st.AddImage(r.Context(), path, o)
		if err != nil {
			return nil, err
		}
		resp := RefsResponse{Images: []string{}}
		for _, ref := range refs {
			resp.Images = append(resp.Images, ref.String())
		}
		return resp, nil
	})
}

func (srv *Server) replaceImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	ref, err := srv.imageArg(r, tok)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	o := store.ReplaceOptions{Name: q.Get("name"), Description: q.Get("description")}
	if s := q.Get("source_index"); s != "" {
		if o.SourceIndex, err = strconv.Atoi(s); err != nil || o.SourceIndex < 0 {
			return errf(http.StatusBadRequest, CodeBadRequest, "source_index=%q: want an image index", s)
		}
	}
	if s := q.Get("wait"); s != "" {
		if o.Wait, err = time.ParseDuration(s); err != nil || o.Wait < 0 {
			return errf(http.StatusBadRequest, CodeBadRequest, "wait=%q: want a duration such as 10m", s)
		}
	}
	if o.Force, err = boolParam(r, "force"); err != nil {
		return err
	}
	name, err := uploadName(r)
	if err != nil {
		return err
	}
	path, cleanup, err := srv.receive(w, r, name, srv.o.MaxUpload)
	if err != nil {
		return err
	}
	defer cleanup()
	return srv.long(w, r, http.StatusOK, func(report progress.Func) (any, error) {
		o.Progress = report
		if err := srv.st.ReplaceImage(r.Context(), ref, path, o); err != nil {
			return nil, err
		}
		return okBody, nil
	})
}

// receive stores the request body in a new folder under WdsConsole/uploads
// as name, refusing bodies over limit and broken ones; cleanup removes it.
func (srv *Server) receive(w http.ResponseWriter, r *http.Request, name string, limit int64) (string, func(), error) {
	if r.ContentLength > limit {
		return "", nil, errf(http.StatusRequestEntityTooLarge, CodeTooLarge, "upload of %d bytes is larger than the limit of %d", r.ContentLength, limit)
	}
	dir, err := os.MkdirTemp(filepath.Join(srv.st.Root(), store.ConsoleDir, uploadsDir), "up-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, limit))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		cleanup()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", nil, errf(http.StatusRequestEntityTooLarge, CodeTooLarge, "upload is larger than the limit of %d bytes", limit)
		}
		return "", nil, errf(http.StatusBadRequest, CodeBadRequest, "upload broken after %d bytes: %v", n, err)
	}
	return path, cleanup, nil
}

func (srv *Server) exportImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	ref, err := srv.imageArg(r, tok)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	return srv.serveExport(w, r, ref, q.Get("name"), q.Get("description"))
}

// serveExport answers with image ref as a standalone WIM (built once and
// kept while the image is unchanged), with range requests.
func (srv *Server) serveExport(w http.ResponseWriter, r *http.Request, ref store.ImageRef, name, desc string) error {
	e, err := srv.exports.get(srv.ctx, srv.st, ref, name, desc)
	if err != nil {
		return err
	}
	defer srv.exports.release(e)
	f, err := os.Open(e.path)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+ref.File+`.wim"`)
	w.Header().Set("ETag", `"`+e.key[:32]+`"`)
	http.ServeContent(w, r, ref.File+".wim", e.mtime, f)
	return nil
}

func (srv *Server) listSessions(w http.ResponseWriter, r *http.Request, tok Token) error {
	var ref store.ImageRef
	if r.URL.Query().Get("ref") != "" {
		var err error
		if ref, err = srv.imageArg(r, tok); err != nil {
			return err
		}
	}
	var ss []store.Session
	if err := srv.short(func() (err error) { ss, err = srv.st.Sessions(ref); return }); err != nil {
		return err
	}
	out := []store.Session{}
	for _, se := range ss {
		if r, err := store.ParseImageRef(se.Image); err == nil && needImage(tok, r) == nil {
			out = append(out, se)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (srv *Server) openSession(w http.ResponseWriter, r *http.Request, tok Token) error {
	var req SessionRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	ref, err := store.ParseImageRef(req.Image)
	if err != nil {
		return badRequest(err)
	}
	if err := needImage(tok, ref); err != nil {
		return err
	}
	client := req.Client
	if len(client) > 200 {
		client = client[:200]
	}
	client = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, client)
	client += " [token " + tok.ID + " from " + r.RemoteAddr + "]"
	var se *store.Session
	if err := srv.short(func() (err error) { se, err = srv.st.OpenSession(ref, client); return }); err != nil {
		return err
	}
	srv.sessMu.Lock()
	srv.sessions[se.ID] = sessionOwner{token: tok.ID, ref: ref}
	srv.sessMu.Unlock()
	writeJSON(w, http.StatusCreated, SessionResponse{Session: *se, TTL: store.SessionTTL})
	return nil
}

// session returns the session id opened by tok through this server.
func (srv *Server) session(r *http.Request, tok Token) (string, sessionOwner, error) {
	id := r.PathValue("id")
	srv.sessMu.Lock()
	own, ok := srv.sessions[id]
	srv.sessMu.Unlock()
	if !ok {
		return "", own, errf(http.StatusNotFound, CodeNotFound, "install session %q is not open on this server", id)
	}
	if own.token != tok.ID && tok.Role != RoleAdmin {
		return "", own, errf(http.StatusForbidden, CodeForbidden, "install session %s belongs to another token", id)
	}
	return id, own, nil
}

func (srv *Server) heartbeat(w http.ResponseWriter, r *http.Request, tok Token) error {
	id, _, err := srv.session(r, tok)
	if err != nil {
		return err
	}
	if err := srv.short(func() error { return srv.st.Heartbeat(id) }); err != nil {
		return errf(http.StatusNotFound, CodeNotFound, "%v", err)
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (srv *Server) sessionWIM(w http.ResponseWriter, r *http.Request, tok Token) error {
	id, own, err := srv.session(r, tok)
	if err != nil {
		return err
	}
	// A download renews the lease, and fails once the session is gone.
	if err := srv.short(func() error { return srv.st.Heartbeat(id) }); err != nil {
		return errf(http.StatusNotFound, CodeNotFound, "%v", err)
	}
	return srv.serveExport(w, r, own.ref, "", "")
}

func (srv *Server) closeSession(w http.ResponseWriter, r *http.Request, tok Token) error {
	id, _, err := srv.session(r, tok)
	if err != nil {
		return err
	}
	if err := srv.short(func() error { return srv.st.CloseSession(id) }); err != nil {
		return err
	}
	srv.sessMu.Lock()
	delete(srv.sessions, id)
	srv.sessMu.Unlock()
	writeJSON(w, http.StatusOK, okBody)
	return nil
}
