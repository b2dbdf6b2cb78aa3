package frequency

import (
	"encoding/json"
	"log"
	"sync"

	"github.com/ccojocar/zxcvbn-go/data"
)

// List holds a frequency list
type List struct {
	Name string
	List []string
}

// Lists holds all the frequency list in a map. It is empty until Load has
// been called, and again after Release.
var Lists = make(map[string]List)

// Release empties Lists for good (Load does not fill it again), so that
// the garbage collector no longer has to mark its strings.
//
// invited's patch: matching calls it once it has built its dictionaries.
func Release() {
	Load()
	for name := range Lists {
		delete(Lists, name)
	}
}

var loadOnce sync.Once

// Load fills Lists. Only the first call does the work; it is safe to call
// from many goroutines.
//
// invited's patch: upstream does this in init(), so that every program that
// links the package pays for it at start.
func Load() { loadOnce.Do(load) }

func load() {
	maleFilePath := getAsset("data/MaleNames.json")
	femaleFilePath := getAsset("data/FemaleNames.json")
	surnameFilePath := getAsset("data/Surnames.json")
	englishFilePath := getAsset("data/English.json")
	passwordsFilePath := getAsset("data/Passwords.json")

	Lists["MaleNames"] = getStringListFromAsset(maleFilePath, "MaleNames")
	Lists["FemaleNames"] = getStringListFromAsset(femaleFilePath, "FemaleNames")
	Lists["Surname"] = getStringListFromAsset(surnameFilePath, "Surname")
	Lists["English"] = getStringListFromAsset(englishFilePath, "English")
	Lists["Passwords"] = getStringListFromAsset(passwordsFilePath, "Passwords")
}

func getAsset(name string) []byte {
	data, err := data.Asset(name)
	if err != nil {
		panic("Error getting asset " + name)
	}

	return data
}

func getStringListFromAsset(data []byte, name string) List {
	var tempList List
	err := json.Unmarshal(data, &tempList)
	if err != nil {
		log.Fatal(err)
	}
	tempList.Name = name
	return tempList
}
