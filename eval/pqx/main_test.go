package pqx

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestX(t *testing.T) {
	for _, name := range []string{"arc", "mmlu", "mmlu_legacy_lists", "gsm8k"} {
		f, _ := os.Open("/work/main/testdata/eval/" + name + ".parquet")
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		r := parquet.NewReader(pf)
		for {
			m := map[string]any{}
			if err := r.Read(&m); err != nil {
				fmt.Println("err", err)
				break
			}
			b, _ := json.Marshal(m)
			fmt.Println(name, string(b))
		}
	}
}
