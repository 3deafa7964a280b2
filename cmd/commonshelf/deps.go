package main
import (
 _ "github.com/valyala/fasthttp"
 _ "github.com/blevesearch/bleve/v2"
 _ "golang.org/x/sync/errgroup"
 _ "github.com/hashicorp/golang-lru/v2"
 _ "github.com/sony/gobreaker/v2"
 _ "go.yaml.in/yaml/v3"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "golang.org/x/term"
 _ "golang.org/x/text/unicode/norm"
)
func main(){}
