// helm-render: renders a Helm chart the way `helm template` does, with Go's
// text/template and sprig (the engine Helm uses), for tests on machines
// without the helm binary. Build offline from Debian's golang-go and
// golang-github-masterminds-sprig-dev / golang-github-ghodss-yaml-dev:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= go build -o helm-render main.go
//
// Usage: helm-render -chart DIR [-f values.yaml]... [-name RELEASE] [-namespace NS]
//
//	[-kube-version v1.29.0] [-api-versions apps/v1,...] [-notes]
//
// Supported: Chart.yaml → .Chart, values.yaml coalesced with -f files (maps
// merge, null deletes a key), every template under templates/ with the
// partials (_*.tpl), include, tpl, toYaml, fromYaml, fromYamlArray, toJson,
// fromJson, required, fail, lookup (always empty, like `helm template`),
// .Values, .Release, .Chart, .Capabilities (KubeVersion, APIVersions.Has),
// .Template, .Files (Get, GetBytes, Glob-less). values.schema.json is NOT
// validated here (the test does that with ajv). Output: the rendered
// manifests as one multi-document YAML on stdout, each preceded by
// "# Source: CHART/templates/FILE" like helm; errors on stderr, exit 1.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// KubeVersion mirrors chartutil.KubeVersion.
type KubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

// VersionSet mirrors chartutil.VersionSet.
type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

// Files mirrors helm's .Files for non-template files of the chart.
type Files map[string][]byte

func (f Files) Get(name string) string      { return string(f[name]) }
func (f Files) GetBytes(name string) []byte { return f[name] }

func main() {
	var valueFiles multiFlag
	chartDir := flag.String("chart", "", "chart directory")
	flag.Var(&valueFiles, "f", "values file (repeatable; later wins)")
	name := flag.String("name", "netspan", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.29.0", "Kubernetes version for .Capabilities")
	apiVersions := flag.String("api-versions", "", "extra API versions for .Capabilities.APIVersions (comma separated)")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt to stderr")
	flag.Parse()
	if *chartDir == "" {
		fail("-chart is required")
	}
	out, notesText, err := render(*chartDir, valueFiles, *name, *namespace, *kubeVersion, *apiVersions)
	if err != nil {
		fail(err.Error())
	}
	if *notes {
		fmt.Fprint(os.Stderr, notesText)
	}
	fmt.Print(out)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "Error: "+msg)
	os.Exit(1)
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m, func(d *json.Decoder) *json.Decoder { d.UseNumber(); return d }); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return m, nil
}

// coalesce merges src over dst like helm: maps merge recursively, a null in
// src deletes the key, anything else replaces.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := v.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

var chartKeys = map[string]string{
	"apiVersion": "APIVersion", "name": "Name", "version": "Version", "kubeVersion": "KubeVersion",
	"description": "Description", "type": "Type", "keywords": "Keywords", "home": "Home",
	"sources": "Sources", "dependencies": "Dependencies", "maintainers": "Maintainers",
	"icon": "Icon", "appVersion": "AppVersion", "deprecated": "Deprecated", "annotations": "Annotations",
}

func render(chartDir string, valueFiles []string, name, namespace, kubeVersion, apiVersions string) (string, string, error) {
	chartRaw, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", "", err
	}
	chart := map[string]interface{}{}
	for k, v := range chartRaw {
		if K, ok := chartKeys[k]; ok {
			chart[K] = v
		}
	}
	chartName, _ := chart["Name"].(string)
	if chartName == "" {
		return "", "", errors.New("Chart.yaml has no name")
	}

	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return "", "", err
	}
	for _, f := range valueFiles {
		over, err := readYAMLMap(f)
		if err != nil {
			return "", "", err
		}
		values = coalesce(values, over)
	}

	kv := strings.TrimPrefix(kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	if len(parts) < 2 {
		return "", "", fmt.Errorf("bad -kube-version %q", kubeVersion)
	}
	apis := VersionSet{"v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "policy/v1", "networking.k8s.io/v1", "scheduling.k8s.io/v1", "autoscaling/v2"}
	if apiVersions != "" {
		apis = append(apis, strings.Split(apiVersions, ",")...)
	}

	files := Files{}
	var templates []string
	err = filepath.WalkDir(chartDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			templates = append(templates, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	if err != nil {
		return "", "", err
	}
	sort.Strings(templates)

	top := map[string]interface{}{
		"Values":       values,
		"Release":      map[string]interface{}{"Name": name, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Chart":        chart,
		"Capabilities": Capabilities{KubeVersion: KubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1], GitVersion: "v" + kv}, APIVersions: apis},
		"Files":        files,
	}

	root := template.New("gotpl")
	funcs := funcMap(root)
	root.Funcs(funcs).Option("missingkey=zero")
	for _, t := range templates {
		data, err := os.ReadFile(filepath.Join(chartDir, t))
		if err != nil {
			return "", "", err
		}
		if _, err := root.New(path.Join(chartName, t)).Parse(string(data)); err != nil {
			return "", "", err
		}
	}

	var out, notes strings.Builder
	for _, t := range templates {
		base := path.Base(t)
		if strings.HasPrefix(base, "_") {
			continue
		}
		full := path.Join(chartName, t)
		ctx := map[string]interface{}{}
		for k, v := range top {
			ctx[k] = v
		}
		ctx["Template"] = map[string]interface{}{"Name": full, "BasePath": path.Join(chartName, "templates")}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, full, ctx); err != nil {
			return "", "", cleanErr(err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			notes.WriteString(text)
			continue
		}
		if !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") {
			continue
		}
		for _, doc := range splitDocs(text) {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", full, doc)
		}
	}
	return out.String(), notes.String(), nil
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

func splitDocs(text string) []string {
	var docs []string
	for _, d := range docSep.Split(text, -1) {
		if strings.TrimSpace(stripComments(d)) == "" {
			continue
		}
		docs = append(docs, strings.Trim(d, "\n"))
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// helm reports `fail`/`required` as "execution error at (file:line:col): msg".
var execErr = regexp.MustCompile(`^template: (.*?): executing ".*?" at <.*?>: error calling \w+: (.*)$`)

func cleanErr(err error) error {
	msg := err.Error()
	if m := execErr.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("execution error at (%s): %s", m[1], m[2])
	}
	return err
}

func funcMap(root *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	// helm removes these: templates must not read the renderer's environment.
	delete(f, "env")
	delete(f, "expandenv")

	includeDepth := map[string]int{}
	f["include"] = func(name string, data interface{}) (string, error) {
		if includeDepth[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includeDepth[name]++
		defer func() { includeDepth[name]-- }()
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromYamlArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := yaml.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	return f
}
