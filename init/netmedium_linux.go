package main

import "github.com/sandbox-init/sandbox-init/config"

// netMedium is sandbox.url: the network brought up, the image fetched into
// RAM (checked as it comes, with sandbox.verity) and loop-attached from
// there as toram's copy would be; nothing to let go of.
type netMedium struct {
	image string // the copy in RAM, once fetched
	dev   string // the origin attach made of it
}

func newNetMedium(*config.Config) medium { return &netMedium{} }

func (m *netMedium) find() []step {
	return []step{
		{"net", netUp}, // NIC drivers by modalias, link up, DHCP or ip=
		{"fetch", func(s *sandbox) (err error) { // sandbox.url into RAM, checked block by block as it comes
			m.image, err = fetchImage(s)
			return err
		}},
	}
}

func (m *netMedium) attach() []step {
	return []step{{"image", func(s *sandbox) (err error) { // the copy in RAM, loop-attached read-only
		m.dev, err = attachImage(s, m.image, "the image fetched into RAM (sandbox.url); ")
		return err
	}}}
}

func (*netMedium) release() []step  { return nil }
func (m *netMedium) origin() string { return m.dev }
